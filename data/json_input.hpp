// Parsing a JSON file a user wrote (a model config, an agent campaign): a syntax error names the file, line and
// column; a key given twice in one object is refused (nlohmann::json would keep the last one silently, so a
// pasted second "num_recycle" would quietly win).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string_view>

namespace kfold::data {

// The parsed document; throws InputError "<source>: invalid JSON: ..." or "<source>: key 'a.b[2].c' appears
// twice ...".
nlohmann::json parse_json_input(std::string_view text, std::string_view source);

}  // namespace kfold::data
