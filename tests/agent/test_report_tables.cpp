// report.md's and report.html's tables (pipelines/agent/report_tables.hpp): one set of cells, each report's escaping.
#include <doctest/doctest.h>

#include <string>

#include "pipelines/agent/report_tables.hpp"

using kfold::pipelines::agent::ReportTable;

TEST_CASE("report tables: Markdown and HTML render the same cells, each escaped for its format") {
  const ReportTable table{{"id", "rationale"}, {{"R1-H0001", "a|b <script>"}, {"R1-H0002", "plain & simple"}}};
  const std::string md = kfold::pipelines::agent::markdown_table(table);
  CHECK(md ==
        "| id | rationale |\n|---|---|\n| R1-H0001 | a/b &lt;script&gt; |\n"
        "| R1-H0002 | plain & simple |\n");
  const std::string html = kfold::pipelines::agent::html_table(table);
  CHECK(html ==
        "<table>\n<tr><th>id</th><th>rationale</th></tr>\n<tr><td>R1-H0001</td><td>a|b &lt;script&gt;</td></tr>\n"
        "<tr><td>R1-H0002</td><td>plain &amp; simple</td></tr>\n</table>\n");
}
