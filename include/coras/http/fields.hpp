/// @file
/// HTTP header fields, kept apart from Beast so public headers stay light.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coras::http {

/// An ordered list of header fields with case-insensitive names. Repeated
/// names are kept (e.g. several `Warning` or `WWW-Authenticate` fields).
class fields {
 public:
  /// One field, as received or set.
  struct field {
    std::string name;   ///< the name, case as given
    std::string value;  ///< the value
  };

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
  auto begin() const { return list_.begin(); }
  /// Iterator past the last `field`.
  auto end() const { return list_.end(); }
  /// The number of fields (repeated names count each time).
  std::size_t size() const { return list_.size(); }
  /// True when there is no field.
  bool empty() const { return list_.empty(); }
  /// Room for `n` fields without reallocating (a response's header count).
  void reserve(std::size_t n) { list_.reserve(n); }

 private:
  std::vector<field> list_;
};

/// ASCII case-insensitive comparison, as header names need.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace coras::http
