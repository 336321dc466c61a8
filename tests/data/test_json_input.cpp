// Tests for parse_json_input: the same document as nlohmann::json::parse, a key given twice refused with its path,
// syntax errors with their line.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "data/error.hpp"
#include "data/json_input.hpp"

using kfold::InputError;
using kfold::data::parse_json_input;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_json_input(text, "c.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("parse_json_input reads what nlohmann reads") {
  for (const std::string text : {
           R"({})",
           R"([])",
           R"(3.5)",
           R"({"a": {"x": 1}, "b": {"x": 2}, "x": [1, {"x": 3}, {"x": 4}]})",  // one key in several objects
           R"({"model": {"heads": {"pae": {"num_bins": 64}}, "num_recycle": 3}, "list": [[{"k": 1}], [{"k": 2}]]})",
           R"({"": 1, "a": null, "b": true, "c": "x\"y"})",
       }) {
    CAPTURE(text);
    CHECK(parse_json_input(text, "c.json") == nlohmann::json::parse(text));
  }
}

TEST_CASE("parse_json_input refuses a key given twice and names its path") {
  CHECK(error_of(R"({"num_recycle": 1, "num_recycle": 3})") ==
        "c.json: key 'num_recycle' appears twice; keep one of them");
  CHECK(error_of(R"({"model": {"global": {"a": 1}, "x": 2, "global": {}}})") ==
        "c.json: key 'model.global' appears twice in 'model'; keep one of them");
  // Paths through arrays count the elements before, whatever their kind.
  CHECK(error_of(R"({"results": [1, [2, 3], {"a": 1}, {"b": 1, "b": 2}]})") ==
        "c.json: key 'results[3].b' appears twice in 'results[3]'; keep one of them");
  CHECK(error_of(R"([[], [{"k": [{}]}, {"k": 1, "k": 2}]])") ==
        "c.json: key '[1][1].k' appears twice in '[1][1]'; keep one of them");
  CHECK(error_of(R"({"": 1, "": 2})") == "c.json: key '' appears twice; keep one of them");
}

TEST_CASE("parse_json_input names the line of a syntax error") {
  CHECK(error_of("{\n  \"a\": 1,\n}").starts_with("c.json: invalid JSON: parse error at line 3, column 1: "));
  CHECK(error_of("{\"a\": 1e400}").starts_with("c.json: invalid JSON: number overflow"));
  CHECK(error_of("").starts_with("c.json: invalid JSON:"));
  CHECK(error_of("{} x").starts_with("c.json: invalid JSON:"));
}

TEST_CASE("parse_json_input keeps memory linear in the nesting depth") {
  // Each open array kept its whole path: 50,000 nested arrays (a 100 KB file) took about 4 GB.
  const size_t depth = 50000;
  const std::string text = std::string(depth, '[') + std::string(depth, ']');
  const nlohmann::json parsed = parse_json_input(text, "c.json");
  // Walked down a level at a time: nlohmann's operator== recurses (a stack overflow under ASan at this depth).
  size_t levels = 0;
  for (const nlohmann::json* level = &parsed; level->is_array(); level = &level->front()) {
    ++levels;
    if (level->empty()) break;
  }
  CHECK(levels == depth);
}
