// JSON text as Python's json.dumps writes it (float repr, string escapes), for output files that
// must match AlphaFold's byte for byte.
#pragma once

#include <string>
#include <string_view>

namespace kfold::pipelines {

// Python's repr of a float: the shortest text that reads back as `value`, with ".0" on integral
// values ("50.0", "31.75", "1e+16"). Throws RuntimeError on NaN or infinity (not valid JSON).
std::string python_float(double value);

// A JSON string literal with json.dumps' default escapes (ensure_ascii: non-ASCII as \uXXXX).
std::string json_string(std::string_view text);

}  // namespace kfold::pipelines
