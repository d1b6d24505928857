/// @file
/// HTTP header fields, kept apart from Beast so public headers stay light.
#pragma once

#include <cstddef>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coras::http {

/// An ordered list of header fields with case-insensitive names. Repeated
/// names are kept (e.g. several `Warning` or `WWW-Authenticate` fields).
///
/// Names and values live back to back in one buffer (a response's header
/// block costs two allocations, not two per field). The views this class
/// hands out stay valid until the next call that changes it.
class fields {
 public:
  /// One field, as received or set.
  struct field {
    std::string_view name;   ///< the name, case as given
    std::string_view value;  ///< the value
  };

 private:
  struct entry {
    std::size_t at;         // where the name starts in text_
    std::size_t name_size;  // the value follows the name
    std::size_t value_size;
  };

 public:
  /// Walks the fields in order; dereferencing gives a `field` by value.
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;  ///< a forward iterator
    using value_type = field;                             ///< a field (two views)
    using difference_type = std::ptrdiff_t;               ///< as for any iterator
    using pointer = void;                                 ///< none: fields are made on the fly
    using reference = field;                              ///< a field, by value

    /// A singular iterator (compare only with another).
    iterator() = default;
    /// The field here, as views of the fields' text.
    field operator*() const { return owner_->view(*at_); }
    /// To the next field.
    iterator& operator++() {
      ++at_;
      return *this;
    }
    /// To the next field; returns where it was.
    iterator operator++(int) {
      auto old = *this;
      ++at_;
      return old;
    }
    /// Same position.
    friend bool operator==(const iterator& a, const iterator& b) { return a.at_ == b.at_; }

   private:
    friend class fields;
    iterator(const fields* owner, std::vector<entry>::const_iterator at) : owner_(owner), at_(at) {}
    const fields* owner_ = nullptr;
    std::vector<entry>::const_iterator at_;
  };

  /// No fields.
  fields() = default;
  /// A copy (its own text).
  fields(const fields&) = default;
  /// Becomes a copy of `other` (its own text).
  fields& operator=(const fields&) = default;
  /// Leaves `other` empty (and usable).
  fields(fields&& other) noexcept;
  /// Leaves `other` empty (and usable).
  fields& operator=(fields&& other) noexcept;

  /// The first value of `name`, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  /// Every value of `name`, in order.
  std::vector<std::string_view> get_all(std::string_view name) const;
  /// Whether a field named `name` is present.
  bool contains(std::string_view name) const { return get(name).has_value(); }

  /// Replaces every `name` field by one with `value`.
  void set(std::string_view name, std::string_view value);
  /// Appends a field, keeping existing ones of the same name.
  void add(std::string_view name, std::string_view value);
  /// Removes every field named `name`.
  void erase(std::string_view name);

  /// Iterator to the first `field`, in order.
  iterator begin() const { return {this, entries_.begin()}; }
  /// Iterator past the last `field`.
  iterator end() const { return {this, entries_.end()}; }
  /// The number of fields (repeated names count each time).
  std::size_t size() const { return entries_.size(); }
  /// True when there is no field.
  bool empty() const { return entries_.empty(); }
  /// Room for `n` fields of `bytes` characters of names and values in all
  /// without reallocating (a response's header block).
  void reserve(std::size_t n, std::size_t bytes = 0) {
    entries_.reserve(n);
    text_.reserve(bytes);
  }

 private:
  bool views_own_text(std::string_view s) const noexcept;
  bool named(const entry& e, std::string_view name) const noexcept;
  field view(const entry& e) const {
    std::string_view all(text_);
    return {all.substr(e.at, e.name_size), all.substr(e.at + e.name_size, e.value_size)};
  }

  std::string text_;            // every name and value, back to back
  std::vector<entry> entries_;  // in order
  std::size_t unused_ = 0;      // characters of text_ left by erased fields
};

/// ASCII case-insensitive comparison, as header names need.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace coras::http
