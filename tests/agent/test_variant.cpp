// Variant parsing, formatting, validation against the wild type and application.
#include <doctest/doctest.h>

#include "data/error.hpp"
#include "pipelines/agent/variant.hpp"

using namespace kfold::pipelines::agent;

TEST_CASE("variant: parse and format round trip") {
  for (const char* text : {"A23P", "A23P:G45S", "M1K:A2C:W100Y", "WT"}) {
    const Variant v = parse_variant(text, "test");
    CHECK(format_variant(v) == text);
    CHECK(parse_variant(format_variant(v), "test") == v);
  }
  const Variant v = parse_variant("G45S:A23P", "test");  // sorted by position
  REQUIRE(v.substitutions.size() == 2);
  CHECK(v.substitutions[0] == Substitution{23, 'A', 'P'});
  CHECK(v.substitutions[1] == Substitution{45, 'G', 'S'});
  CHECK(format_variant(v) == "A23P:G45S");
  CHECK(parse_variant("wt", "test").is_wild_type());
  // Residue numbers below 1 (target.first_residue < 1: a tag or pro-peptide) round-trip too.
  const Variant negative = parse_variant("M-5A:K0R", "test");
  CHECK(negative.substitutions[0] == Substitution{-5, 'M', 'A'});
  CHECK(parse_variant(format_variant(negative), "test") == negative);
}

TEST_CASE("variant: bad syntax is an InputError naming the variant and the fix") {
  for (const char* text :
       {"", "A23", "23P", "A2x3P", "AP", "A23P:", "B23P", "A23Z", "A+3P", "A-P", "A--3P", "A23A", "A23P:A23G"}) {
    CAPTURE(text);
    CHECK_THROWS_AS(parse_variant(text, "round0.csv:3"), kfold::InputError);
  }
  try {
    parse_variant("A23A", "round0.csv:3");
    FAIL("no error");
  } catch (const kfold::InputError& e) {
    const std::string m = e.what();
    CHECK(m.find("round0.csv:3") != std::string::npos);
    CHECK(m.find("A23A") != std::string::npos);
    CHECK(m.find("WT") != std::string::npos);  // the fix
  }
}

TEST_CASE("variant: a missing mutant or wild-type letter is named") {
  // "A23" said "'3' is not one of the 20 standard amino acids".
  const auto message = [](const char* text) {
    try {
      parse_variant(text, "r.csv:2");
    } catch (const kfold::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message("A23").find("'A23' has no mutant residue (the letter after the residue number)") != std::string::npos);
  CHECK(message("Q2A:G45").find("'G45' has no mutant residue") != std::string::npos);
  CHECK(message("23P").find("'23P' has no wild-type residue (the letter before the residue number)") !=
        std::string::npos);
  CHECK(message("A23P").find("no error") == 0);
}

TEST_CASE("variant: checked against the wild type and applied") {
  const std::string wt = "MQIFVK";
  check_variant(parse_variant("Q2A:K6R", "t"), wt, 1, "t");
  CHECK(apply_variant(parse_variant("Q2A:K6R", "t"), wt, 1) == "MAIFVR");
  CHECK(apply_variant(parse_variant("Q11A", "t"), wt, 10) == "MAIFVK");                      // numbering from 10
  CHECK_THROWS_AS(check_variant(parse_variant("Q7A", "t"), wt, 1, "t"), kfold::InputError);  // outside
  try {
    check_variant(parse_variant("A2P", "t"), wt, 1, "campaign.json");
    FAIL("no error");
  } catch (const kfold::InputError& e) {
    const std::string m = e.what();
    CHECK(m.find("has Q at residue 2") != std::string::npos);
    CHECK(m.find("Q2P") != std::string::npos);  // suggested fix
  }
  // The letters swapped (A2Q where the wild type has Q): Q2A, not Q2Q, which would change nothing.
  CHECK_THROWS_WITH_AS(check_variant(parse_variant("A2Q", "t"), wt, 1, "t"), doctest::Contains("; write Q2A or"),
                       kfold::InputError);
}
