// CSV lines as spreadsheets and pandas write them (data/csv_line.hpp): quoted cells with commas and
// doubled quotes, blanks around cells, and what is refused.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "data/csv_line.hpp"

using kfold::data::separator_hint;
using kfold::data::split_csv_line;
using Cells = std::vector<std::string>;

TEST_CASE("split_csv_line: plain, quoted and empty cells") {
  CHECK(split_csv_line("Q2A,1.5,0.1") == Cells{"Q2A", "1.5", "0.1"});
  CHECK(split_csv_line(" Q2A , 1.5 ") == Cells{"Q2A", "1.5"});
  CHECK(split_csv_line("\"Q2A\",\"1.5\"") == Cells{"Q2A", "1.5"});  // pandas' QUOTE_ALL
  CHECK(split_csv_line("\"a, b\",\"say \"\"hi\"\"\"") == Cells{"a, b", "say \"hi\""});
  CHECK(split_csv_line("Q2A,,") == Cells{"Q2A", "", ""});
  CHECK(split_csv_line("") == Cells{""});
  CHECK(split_csv_line(" \"Q2A\" ,1") == Cells{"Q2A", "1"});
  CHECK(!split_csv_line("\"Q2A,1.5"));                                                // not closed
  CHECK(split_csv_line("variant,\"value\" (AU)") == Cells{"variant", "value (AU)"});  // text after the quote
}

TEST_CASE("separator_hint: a semicolon- or tab-separated line without commas") {
  CHECK(separator_hint("Q2A;1,5").empty());  // has a comma (a decimal comma): not this case
  CHECK(separator_hint("Q2A;1.5").find("semicolons") != std::string::npos);
  CHECK(separator_hint("Q2A\t1.5\t0.1").find("tab-separated") != std::string::npos);
  CHECK(separator_hint("Q2A,1.5").empty());
  CHECK(separator_hint("Q2A").empty());
}
