#include <coras/http/fields.hpp>

#include <algorithm>

namespace coras::http {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::optional<std::string_view> fields::get(std::string_view name) const {
  for (const auto& f : list_)
    if (iequals(f.name, name)) return std::string_view(f.value);
  return std::nullopt;
}

std::vector<std::string_view> fields::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& f : list_)
    if (iequals(f.name, name)) out.emplace_back(f.value);
  return out;
}

void fields::set(std::string_view name, std::string_view value) {
  erase(name);
  add(name, value);
}

void fields::add(std::string_view name, std::string_view value) {
  list_.push_back({std::string(name), std::string(value)});
}

void fields::erase(std::string_view name) {
  std::erase_if(list_, [&](const field& f) { return iequals(f.name, name); });
}

}  // namespace coras::http
