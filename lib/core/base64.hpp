// Standard base64 (RFC 4648 §4, with padding), for the descriptor `data` field
// and, later, Basic credentials.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace coras::detail {

std::string base64_encode(std::string_view bytes);
/// std::nullopt when `text` is not canonical padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace coras::detail
