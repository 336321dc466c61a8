// The message of a nlohmann::json exception without its "[json.exception.parse_error.101] " prefix:
// users read the position and the reason, not the library's exception id.
#pragma once

#include <exception>
#include <string_view>

namespace kfold::data {

inline std::string_view json_error_text(const std::exception& e) {
  const std::string_view what = e.what();
  const size_t end = what.starts_with("[json.exception.") ? what.find("] ") : std::string_view::npos;
  return end == std::string_view::npos ? what : what.substr(end + 2);
}

}  // namespace kfold::data
