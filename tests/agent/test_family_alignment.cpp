// Focus-aware A2M/A3M reading: kept columns, residue numbering, state encoding, errors.
#include <doctest/doctest.h>

#include "data/error.hpp"
#include "pipelines/agent/family_alignment.hpp"

using namespace kfold::pipelines::agent;

TEST_CASE("family_alignment: focus columns, numbering and states") {
  // Focus letters h24 A25 C26 D27 e28 F29; '-' is a match column without a residue (dropped); lower
  // case is no column. Row "two" has insertions (lower case, '.') and an unknown letter (X: gap).
  const std::string text =
      ">BLAT/24-29 focus\nhAC-De\nF\n"
      ">two\nAcxA.X-.\nY\n"
      "# comment\n\n"
      ">three\nWWWW\nW\n";
  const FamilyAlignment a = parse_family_alignment(text, "mem.a2m");
  CHECK(a.focus_id == "BLAT/24-29");
  CHECK(a.focus_start == 24);
  CHECK(a.focus_residues == "HACDEF");
  REQUIRE(a.n_col == 4);
  CHECK(a.n_seq == 3);
  CHECK(a.column_residue == std::vector<int64_t>{25, 26, 27, 29});
  CHECK(a.column_of_residue(27) == 2);
  CHECK(a.column_of_residue(28) == -1);
  CHECK(a.column_of_residue(24) == -1);
  const std::vector<uint8_t> expected = {
      residue_state('A'), residue_state('C'), residue_state('D'), residue_state('F'),  // focus
      residue_state('A'), residue_state('A'), kGapState,          residue_state('Y'),  // two
      residue_state('W'), residue_state('W'), residue_state('W'), residue_state('W')};
  CHECK(a.states == expected);
  CHECK(residue_state('X') == kGapState);
  CHECK(residue_state('-') == kGapState);
  CHECK(residue_state('y') == residue_state('Y'));
  CHECK(state_letter(residue_state('K')) == 'K');
}

TEST_CASE("family_alignment: no region suffix numbers from 1") {
  const FamilyAlignment a = parse_family_alignment(">ubq query\nMQIF\n>h\nMQLF\n", "mem.a3m");
  CHECK(a.focus_start == 1);
  CHECK(a.column_residue == std::vector<int64_t>{1, 2, 3, 4});
}

TEST_CASE("family_alignment: errors name the file and line") {
  auto message = [](const std::string& text) {
    try {
      parse_family_alignment(text, "fam.a2m");
    } catch (const kfold::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message("").find("no records") != std::string::npos);
  CHECK(message("MQIF\n>a\nMQ\n").find("fam.a2m:1") != std::string::npos);
  CHECK(message(">f\nmqif\n").find("no upper-case") != std::string::npos);
  const std::string m = message(">f\nMQIF\n>g\nMQI\n>h\nMQIF\n");
  CHECK(m.find("fam.a2m:3") != std::string::npos);
  CHECK(m.find("'g'") != std::string::npos);
  CHECK(m.find("3 match states") != std::string::npos);
  CHECK(message(">f/2x-9\nMQIF\n").find("malformed region") != std::string::npos);
  CHECK(message(">f\nMQ1F\n").find("unexpected character") != std::string::npos);
  // Stockholm, which kfold predict reads: said so, with the conversion (was "text before the first '>' header").
  CHECK(message("# STOCKHOLM 1.0\nf MQIF\n//\n").find("fam.a2m:1: a Stockholm file") == 0);
}
