#include <coras/http/fields.hpp>

#include <algorithm>
#include <functional>
#include <utility>

namespace coras::http {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  if (a == b) return true;  // the usual case, spelled alike: one memcmp
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

fields::fields(fields&& other) noexcept
    : text_(std::move(other.text_)),
      entries_(std::move(other.entries_)),
      unused_(std::exchange(other.unused_, 0)) {
  other.text_.clear();
  other.entries_.clear();
}

fields& fields::operator=(fields&& other) noexcept {
  if (this != &other) {
    text_ = std::move(other.text_);
    entries_ = std::move(other.entries_);
    unused_ = std::exchange(other.unused_, 0);
    other.text_.clear();
    other.entries_.clear();
  }
  return *this;
}

// Whether `e` is named `name`: the length first, which rules most fields out.
bool fields::named(const entry& e, std::string_view name) const noexcept {
  return e.name_size == name.size() &&
         iequals(std::string_view(text_).substr(e.at, e.name_size), name);
}

std::optional<std::string_view> fields::get(std::string_view name) const {
  for (const auto& e : entries_) {
    if (named(e, name)) return view(e).value;
  }
  return std::nullopt;
}

std::vector<std::string_view> fields::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& e : entries_) {
    if (named(e, name)) out.emplace_back(view(e).value);
  }
  return out;
}

bool fields::views_own_text(std::string_view s) const noexcept {
  // std::less: a total order even for pointers into different objects.
  const char* p = s.data();
  const char* first = text_.data();
  return !s.empty() && !std::less<>{}(p, first) && std::less<>{}(p, first + text_.size());
}

void fields::set(std::string_view name, std::string_view value) {
  erase(name);  // only marks text unused: views of it stay good for add
  add(name, value);
}

void fields::add(std::string_view name, std::string_view value) {
  // A name or value viewing this object's own text would dangle when the
  // text is packed or grows: copied first.
  if (views_own_text(name) || views_own_text(value)) {
    std::string copy = std::string(name) + std::string(value);
    std::string_view both(copy);
    add(both.substr(0, name.size()), both.substr(name.size()));
    return;
  }
  if (unused_ * 2 > text_.size()) {
    // Mostly gaps (a request whose fields are set over and over): pack.
    std::string packed;
    packed.reserve(text_.size() - unused_ + name.size() + value.size());
    for (auto& e : entries_) {
      std::size_t at = packed.size();
      packed.append(text_, e.at, e.name_size + e.value_size);
      e.at = at;
    }
    text_ = std::move(packed);
    unused_ = 0;
  }
  const std::size_t at = text_.size();
  text_.append(name);
  text_.append(value);
  entries_.push_back({at, name.size(), value.size()});
}

void fields::erase(std::string_view name) {
  std::erase_if(entries_, [&](const entry& e) {
    if (!named(e, name)) return false;
    unused_ += e.name_size + e.value_size;
    return true;
  });
}

}  // namespace coras::http
