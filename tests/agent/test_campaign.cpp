// Campaign files: a valid campaign, and every bad field reported by name.
#include <doctest/doctest.h>

#include <fstream>

#include "data/error.hpp"
#include "pipelines/agent/campaign.hpp"
#include "test_support.hpp"

using namespace kfold::pipelines::agent;

namespace {

std::string error_of(const std::string& json, const std::filesystem::path& path) {
  try {
    parse_campaign(json, path);
  } catch (const kfold::InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("campaign: the shipped example parses") {
  const Campaign c = read_campaign(kfold::test::source_dir() / "data/examples/ubiquitin_campaign.json");
  CHECK(c.name == "ubiquitin-stability-demo");
  CHECK(c.target.sequence.size() == 76u);
  CHECK(c.target.msa.filename() == "ubiquitin.a3m");
  CHECK(std::filesystem::is_regular_file(c.target.msa));  // relative to the campaign file
  CHECK(c.frozen == std::vector<int64_t>{1, 76});
  CHECK(c.plate.size == 96);
  CHECK(c.plate.controls == 4);
  CHECK(c.plate.blanks == 2);
  CHECK(c.objective.at("stability") == 1.0);
  REQUIRE(c.measurements.size() == 12u);
  CHECK(format_variant(c.measurements[0].variant) == "I44A");
  CHECK(c.measurements[0].value == -1.2);
  CHECK(c.measurements[0].sd.value() == 0.2);
}

TEST_CASE("campaign: bad fields are InputErrors naming the field") {
  kfold::test::ScratchDir dir("agent-campaign");
  { std::ofstream(dir / "f.a3m") << ">q\nMQIF\n"; }
  { std::ofstream(dir / "bad.csv") << "variant,value\nQ2A,1.0\nA2P,0.5\n"; }
  // Construct wells of plate.csv ("construct FIRST-LAST") are checked like variants (they were skipped unread).
  { std::ofstream(dir / "c_name.csv") << "variant,value\nconstruct banana,1\n"; }
  { std::ofstream(dir / "c_range.csv") << "variant,value\nconstruct 2-9,1\n"; }
  { std::ofstream(dir / "c_reversed.csv") << "variant,value\nconstruct 3-2,1\n"; }
  { std::ofstream(dir / "c_value.csv") << "variant,value\nconstruct 1-3,abc\n"; }
  { std::ofstream(dir / "c_good.csv") << "variant,value,sd\nconstruct 2-4,0.5,0.1\nQ2A,1\n"; }
  // Blank wells of plate.csv ("blank", any case) are checked (a value) and not learned from.
  { std::ofstream(dir / "b_good.csv") << "blank,0.05\nBLANK,0.04,0.01\nQ2A,1\nBlank,0.06,\n"; }
  { std::ofstream(dir / "b_value.csv") << "variant,value\nblank,abc\n"; }
  { std::ofstream(dir / "b_sd.csv") << "variant,value,sd\nblank,0.1,-1\n"; }
  // Quoted cells (pandas, spreadsheets) are read; a semicolon-separated file (some locales' Excel) is named as one.
  { std::ofstream(dir / "quoted.csv") << "\"variant\",\"value\",\"sd\"\n\"Q2A\",\"1.5\",\"0.1\"\n"; }
  { std::ofstream(dir / "semicolon.csv") << "variant;value\nQ2A;1.5\n"; }
  { std::ofstream(dir / "tabs.csv") << "variant\tvalue\tsd\nQ2A\t1.5\t0.1\n"; }
  { std::ofstream(dir / "open_quote.csv") << "variant,value\n\"Q2A,1.5\n"; }
  // A leading '+' as some instruments export values (from_chars alone refused "+1.2"); not twice.
  { std::ofstream(dir / "plus.csv") << "variant,value,sd\nQ2A,+1.2,+0.1\n"; }
  { std::ofstream(dir / "plus_minus.csv") << "variant,value\nQ2A,+-1.2\n"; }
  const auto path = dir / "c.json";
  const std::string target = R"("target": {"id": "Q", "sequence": "MQIF", "msa": "f.a3m"})";
  CHECK(error_of("{" + target + R"(, "name": "x"})", path) == "no error");
  struct Case {
    std::string json;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"[1]", "JSON object"},
      {"{", "invalid JSON"},
      {"{" + target + "}", "'name'"},
      {R"({"name": "x"})", "'target'"},
      {R"({"name": "x", "target": {"id": "Q", "sequence": "MQ1F", "msa": "f.a3m"}})", "'target.sequence'"},
      {R"({"name": "x", "target": {"id": "Q", "sequence": "MQIF"}})", "'target.msa'"},
      {R"({"name": "x", "target": {"id": "Q", "sequence": "MQIF", "db": "u", "msa": "f.a3m"}})", "'target.db'"},
      {R"({"name": "x", "target": {"id": "Q", "sequence": "MQIF", "msa": "missing.a3m"}})", "'target.msa'"},
      {"{" + target + R"(, "name": "x", "frozen": [0]})", "'frozen[0]'"},
      {"{" + target + R"(, "name": "x", "frozen": "1"})", "'frozen'"},
      {"{" + target + R"(, "name": "x", "objective": {"speed": 1}})", "'objective.speed'"},
      {"{" + target + R"(, "name": "x", "better": "smaller"})",
       "field 'better': 'smaller': expected \"higher\" (the default: larger measured values are better) or "
       "\"lower\" (a Kd, an IC50: the values are negated as read)"},
      {"{" + target + R"(, "name": "x", "better": -1})", "'better'"},
      {"{" + target + R"(, "name": "x", "objective": {"stability": -1}})", "'objective.stability'"},
      {"{" + target + R"(, "name": "x", "plate": {"size": 100}})", "'plate.size'"},
      {"{" + target + R"(, "name": "x", "plate": {"size": 24, "controls": 24}})", "'plate.controls'"},
      {"{" + target + R"(, "name": "x", "plate": {"size": 24, "controls": 20, "constructs": 4}})",
       "'plate.constructs'"},
      {"{" + target + R"(, "name": "x", "plate": {"size": 24, "controls": 18, "blanks": 2, "constructs": 4}})",
       "field 'plate.constructs': 18 control, 2 blank and 4 construct wells leave no well of 24 for variants"},
      {"{" + target + R"(, "name": "x", "plate": {"blanks": -1}})",
       "field 'plate.blanks': must be in [0, 95] (got -1)"},
      {"{" + target + R"(, "name": "x", "plate": {"size": 24, "blanks": 24}})",
       "field 'plate.blanks': must be in [0, 23]"},
      {"{" + target + R"(, "name": "x", "plate": {"blanks": 1.5}})", "field 'plate.blanks': must be an integer"},
      {"{" + target + R"(, "name": "x", "plate": {"blanks": "2"}})", "field 'plate.blanks': must be an integer"},
      {"{" + target + R"(, "name": "x", "plate": {"size": 24, "controls": 20, "blanks": 4}})",
       "field 'plate.blanks': 20 control and 4 blank wells leave no well of 24 for variants"},
      {"{" + target + R"(, "name": "x", "plate": {"blank": 2}})",
       "field 'plate.blank': unknown key; known keys: size, "
       "controls, blanks,"},
      // Huge but finite: UCB values overflowed to inf (skipped: a plate of 37 of 90 wells), the penalty made NaN.
      {"{" + target + R"(, "name": "x", "acquisition": {"beta": 1e308}})",
       "field 'acquisition.beta': must be in [0, 100]"},
      {"{" + target + R"(, "name": "x", "plate": {"similarity_penalty": 1e308}})",
       "field 'plate.similarity_penalty': must be in [0, 1000]"},
      {"{" + target + R"(, "name": "x", "max_mutations": 0})", "'max_mutations'"},
      {"{" + target + R"(, "name": "x", "seed": -1})", "'seed'"},
      {"{" + target + R"(, "name": "x", "seed": 18446744073709551615})", "(got 18446744073709551615)"},
      {"{" + target + R"(, "name": "x", "evolution": {"model": "vae"}})", "'evolution.model'"},
      {"{" + target + R"(, "name": "x", "colour": "red"})", "'colour'"},
      {"{" + target + R"(, "name": "x", "results": ["none.csv"]})", "'results[0]'"},
      {"{" + target + R"(, "name": "x", "results": ["bad.csv"]})", "bad.csv:3"},
      {"{" + target + R"(, "name": "x", "results": ["semicolon.csv"]})",
       "semicolon.csv:1: expected 2 or 3 comma-separated columns (variant,value[,sd]), got 1 (the line has no comma "
       "but semicolons"},
      {"{" + target + R"(, "name": "x", "results": ["tabs.csv"]})",
       "tabs.csv:1: expected 2 or 3 comma-separated columns (variant,value[,sd]), got 1 (the line has no comma "
       "but tabs: a tab-separated file"},
      // One file listed twice: each of its rows would count twice (the combined sds shrink by sqrt 2).
      {"{" + target + R"(, "name": "x", "results": ["c_good.csv", "quoted.csv", "./quoted.csv"]})",
       "quoted.csv is results[1] again: each file's measurements would count twice; list it once"},
      {"{" + target + R"(, "name": "x", "results": ["open_quote.csv"]})",
       "open_quote.csv:2: a quoted cell is not closed"},
      {"{" + target + R"(, "name": "x", "results": ["c_name.csv"]})",
       "c_name.csv:2: 'construct banana' is not a construct"},
      {"{" + target + R"(, "name": "x", "results": ["c_range.csv"]})",
       "c_range.csv:2: 'construct 2-9' is not a fragment of the target (residues 1..4)"},
      {"{" + target + R"(, "name": "x", "results": ["c_reversed.csv"]})",
       "c_reversed.csv:2: 'construct 3-2' is not a fragment of the target (residues 1..4)"},
      {"{" + target + R"(, "name": "x", "results": ["c_value.csv"]})", "c_value.csv:2: value 'abc' is not a finite"},
      {"{" + target + R"(, "name": "x", "results": ["b_value.csv"]})", "b_value.csv:2: value 'abc' is not a finite"},
      {"{" + target + R"(, "name": "x", "results": ["b_sd.csv"]})", "b_sd.csv:2: sd -1 is negative"},
      {"{" + target + R"(, "name": "x", "results": ["plus_minus.csv"]})",
       "plus_minus.csv:2: value '+-1.2' is not a finite number"},
  };
  CHECK(parse_campaign("{" + target + R"(, "name": "x", "results": ["c_good.csv"]})", path).measurements.size() == 1);
  const auto quoted = parse_campaign("{" + target + R"(, "name": "x", "results": ["quoted.csv"]})", path);
  REQUIRE(quoted.measurements.size() == 1);
  CHECK(quoted.measurements.front().value == 1.5);
  CHECK(quoted.measurements.front().sd == 0.1);
  const auto plus = parse_campaign("{" + target + R"(, "name": "x", "results": ["plus.csv"]})", path);
  REQUIRE(plus.measurements.size() == 1);
  CHECK(plus.measurements.front().value == 1.2);
  CHECK(plus.measurements.front().sd == 0.1);
  const Campaign with_blanks = parse_campaign("{" + target + R"(, "name": "x", "results": ["b_good.csv"]})", path);
  REQUIRE(with_blanks.measurements.size() == 1u);
  CHECK(format_variant(with_blanks.measurements[0].variant) == "Q2A");
  // plate.blanks and plate.constructs unset: their defaults never take the wells the controls leave to variants.
  const auto plate_of = [&](const std::string& plate) {
    return parse_campaign("{" + target + R"(, "name": "x", "plate": )" + plate + "}", path).plate;
  };
  CHECK(plate_of(R"({"size": 24, "controls": 20})").blanks == 2);
  CHECK(plate_of(R"({"size": 24, "controls": 20})").constructs == 1);
  CHECK(plate_of(R"({"size": 24, "controls": 20, "blanks": 0})").constructs == 3);
  CHECK(plate_of(R"({"size": 24, "controls": 22})").blanks == 1);
  CHECK(plate_of(R"({"size": 24, "controls": 23})").blanks == 0);
  CHECK(plate_of(R"({"size": 24, "controls": 23})").constructs == 0);
  CHECK(plate_of(R"({"size": 24, "controls": 0, "blanks": 23})").blanks == 23);
  const Campaign defaults = parse_campaign("{" + target + R"(, "name": "x"})", path);
  CHECK(defaults.plate.blanks == 2);
  CHECK(defaults.plate.constructs == 4);
  for (const Case& c : cases) {
    CAPTURE(c.json);
    const std::string m = error_of(c.json, path);
    CHECK(m.find(c.expect) != std::string::npos);
    if (m.find("bad.csv") != std::string::npos) CHECK(m.find("has Q at residue 2") != std::string::npos);
  }
}

TEST_CASE("campaign: library variants that change a frozen residue are dropped, the rest kept in order") {
  kfold::test::ScratchDir dir("agent-campaign-library");
  { std::ofstream(dir / "f.a3m") << ">q\nMQIFVK\n"; }
  { std::ofstream(dir / "lib.csv") << "variant\nQ2A\nM1A\nQ2A:K6R\nI3L\nQ2A\n"; }
  const std::string head = R"({"name": "x", "target": {"id": "Q", "sequence": "MQIFVK", "msa": "f.a3m"}, )"
                           R"("library": "lib.csv", "max_mutations": 2, )";
  const Campaign c = parse_campaign(head + R"("frozen": [1, 6]})", dir / "c.json");
  std::vector<std::string> kept;
  for (const auto& v : c.library_variants) kept.push_back(format_variant(v));
  CHECK(kept == std::vector<std::string>{"Q2A", "I3L"});
  // A library with nothing outside the frozen residues says so.
  { std::ofstream(dir / "frozen_only.csv") << "M1A\nK6R\n"; }
  CHECK(error_of(R"({"name": "x", "target": {"id": "Q", "sequence": "MQIFVK", "msa": "f.a3m"}, )"
                 R"("library": "frozen_only.csv", "frozen": [1, 6]})",
                 dir / "c.json")
            .find("lists no variants outside the frozen residues") != std::string::npos);
  // max_mutations bounds the library's variants: two substitutions pass at 2 (Q2A:K6R above, before the freeze),
  // three do not.
  { std::ofstream(dir / "three.csv") << "Q2A:I3L:F4W\n"; }
  CHECK(error_of(R"({"name": "x", "target": {"id": "Q", "sequence": "MQIFVK", "msa": "f.a3m"}, )"
                 R"("library": "three.csv", "max_mutations": 2})",
                 dir / "c.json")
            .find("has 3 substitutions, more than max_mutations 2") != std::string::npos);
  CHECK(parse_campaign(head + R"("seed": 0})", dir / "c.json").library_variants.size() == 4);
}

TEST_CASE("campaign: replicates and wild-type controls count once toward surrogate.min_measurements") {
  Campaign c = read_campaign(kfold::test::source_dir() / "data/examples/ubiquitin_campaign.json");
  REQUIRE(measured_variant_count(c) == 12);  // the example's 12 rows are 12 variants
  const Measurement wild_type{parse_variant("WT", "test"), 0.0, std::nullopt, "r.csv:2"};
  const Measurement replicate = c.measurements[0];
  c.measurements.insert(c.measurements.end(), 8, wild_type);
  c.measurements.insert(c.measurements.end(), 3, replicate);
  CHECK(measured_variant_count(c) == 13);
  c.measurements.assign(9, wild_type);  // a plate of controls alone teaches a surrogate nothing
  CHECK(measured_variant_count(c) == 1);
}

TEST_CASE("campaign: a results file with another header, a missing mutant letter or no rows says so") {
  kfold::test::ScratchDir dir("agent-campaign-results");
  { std::ofstream(dir / "f.a3m") << ">q\nMQIF\n"; }
  // A DMS table's header: it said "'m' is not one of the 20 standard amino acids".
  { std::ofstream(dir / "dms.csv") << "mutant,score\nQ2A,1.0\n"; }
  { std::ofstream(dir / "no_mutant.csv") << "variant,value\nQ2,0.1\n"; }
  { std::ofstream(dir / "no_header_no_mutant.csv") << "Q2,0.1\n"; }
  { std::ofstream(dir / "first_value.csv") << "Q2A,abc\n"; }  // a measurement with a bad value, not a header
  { std::ofstream(dir / "empty.csv") << ""; }
  { std::ofstream(dir / "header_only.csv") << "variant,value,sd\n"; }
  const auto path = dir / "c.json";
  const std::string head = R"({"name": "x", "target": {"id": "Q", "sequence": "MQIF", "msa": "f.a3m"}, "results": [")";
  const auto with = [&](const std::string& file) { return head + file + R"("]})"; };
  std::string m = error_of(with("dms.csv"), path);
  CHECK(m.find("dms.csv:1: the header must be 'variant,value' or 'variant,value,sd' (got 'mutant,score')") !=
        std::string::npos);
  CHECK(m.find("standard amino acids") == std::string::npos);
  for (const char* file : {"no_mutant.csv", "no_header_no_mutant.csv"}) {
    CAPTURE(file);
    CHECK(error_of(with(file), path).find("'Q2' has no mutant residue (the letter after the residue number)") !=
          std::string::npos);
  }
  CHECK(error_of(with("first_value.csv"), path).find("first_value.csv:1: value 'abc' is not a finite number") !=
        std::string::npos);
  // Finite values whose squares overflow (1e160) gave infinite sds and a half-empty plate without an error.
  { std::ofstream(dir / "huge.csv") << "variant,value,sd\nQ2A,1e160\n"; }
  { std::ofstream(dir / "tiny_sd.csv") << "variant,value,sd\nQ2A,0.5,1e-200\n"; }
  { std::ofstream(dir / "in_range.csv") << "variant,value,sd\nQ2A,-1e100,0\nQ2W,1e-100,1e100\nQ2Y,0,1\n"; }
  CHECK(error_of(with("huge.csv"), path).find("huge.csv:2: value 1e160 is outside the range kfold computes with") !=
        std::string::npos);
  CHECK(error_of(with("tiny_sd.csv"), path).find("tiny_sd.csv:2: sd 1e-200 is outside the range") != std::string::npos);
  CHECK(parse_campaign(with("in_range.csv"), path).measurements.size() == 3u);
  for (const char* file : {"empty.csv", "header_only.csv"}) {
    CAPTURE(file);
    kfold::test::CapturedWarnings warnings;
    CHECK(parse_campaign(with(file), path).measurements.empty());
    REQUIRE(warnings.lines.size() == 1u);
    CHECK(warnings.lines[0].find(std::string(file) + ": no measurements") != std::string::npos);
  }
}

TEST_CASE("campaign: results as labs export them: any header case, failed wells skipped, plates on other scales") {
  kfold::test::ScratchDir dir("agent-campaign-lab-results");
  { std::ofstream(dir / "f.a3m") << ">q\nMQIF\n"; }
  // A spreadsheet's header and failed wells (empty, NA, N/A, NaN): the whole file was refused at the first.
  {
    std::ofstream(dir / "plate1.csv")
        << "Variant,Value\nQ2A,0.5\nQ2W,\nI3V,NA\nWT,0.0\nWT,0.1\nWT,0.05\nF4L,nan\nI3L,n/a\n";
  }
  // The next plate read at another gain: its WT wells near 5 where the first plate's were near 0.
  { std::ofstream(dir / "plate2.csv") << "variant,value\nQ2Y,6.0\nWT,5.0\nWT,5.1\nWT,5.05\n"; }
  // A failed well's variant is still checked: a typo is named, not skipped.
  { std::ofstream(dir / "typo.csv") << "variant,value\nQ9A,NA\n"; }
  const auto path = dir / "c.json";
  const std::string head = R"({"name": "x", "target": {"id": "Q", "sequence": "MQIF", "msa": "f.a3m"}, "results": [)";
  {
    kfold::test::CapturedWarnings warnings;
    const Campaign c = parse_campaign(head + R"("plate1.csv"]})", path);
    CHECK(c.measurements.size() == 4u);  // Q2A and the three WT wells
    REQUIRE(warnings.lines.size() == 1u);
    CHECK(warnings.lines[0].find("plate1.csv: 4 row(s) without a value (empty, NA or NaN: failed wells) not learned "
                                 "from, the first at ") != std::string::npos);
    CHECK(warnings.lines[0].find("plate1.csv:3") != std::string::npos);
  }
  kfold::test::CapturedWarnings warnings;
  const Campaign c = parse_campaign(head + R"("plate1.csv", "plate2.csv"]})", path);
  CHECK(c.measurements.size() == 8u);
  CHECK(error_of(head + R"("typo.csv"]})", path).find("typo.csv:2: variant 'Q9A'") != std::string::npos);
  REQUIRE(warnings.lines.size() == 2u);
  CHECK(warnings.lines[1].find("the wild-type wells disagree between files: mean 0.05 in ") != std::string::npos);
  CHECK(warnings.lines[1].find("5.05 in ") != std::string::npos);
  CHECK(warnings.lines[1].find("normalise each file to its own WT wells") != std::string::npos);
}

TEST_CASE("campaign: replicates that disagree far beyond their sds are named in a warning") {
  kfold::test::ScratchDir dir("agent-campaign-replicates");
  { std::ofstream(dir / "f.a3m") << ">q\nMQIF\n"; }
  // Q2A: -1.2, +1.5, -1.0 each +/- 0.2 (chi-square ~113 on 2 degrees of freedom: a mislabelled well); I3V
  // within its sds (chi-square 0.5); F4L without sds (not judged); WT wells are compared across files
  // elsewhere.
  {
    std::ofstream(dir / "r.csv") << "variant,value,sd\nQ2A,-1.2,0.2\nQ2A,1.5,0.2\nQ2A,-1.0,0.2\nI3V,0.1,0.2\n"
                                    "I3V,0.3,0.2\nF4L,-3\nF4L,3\nWT,0,0.01\nWT,1,0.01\n";
  }
  kfold::test::CapturedWarnings warnings;
  const Campaign c = parse_campaign(
      R"({"name": "x", "target": {"id": "Q", "sequence": "MQIF", "msa": "f.a3m"}, "results": ["r.csv"]})",
      dir / "c.json");
  CHECK(c.measurements.size() == 9u);  // all kept (averaged later)
  REQUIRE(warnings.lines.size() == 1u);
  const std::string& w = warnings.lines[0];
  CHECK(w.find("the 3 replicates of Q2A disagree far beyond their sd (chi-square 113.") != std::string::npos);
  CHECK(w.find("1.5 +/- 0.2 (" + (dir / "r.csv").string() + ":3)") != std::string::npos);
  CHECK(w.find("check for a mislabelled or failed well") != std::string::npos);
}

TEST_CASE("campaign: \"better\": \"lower\" negates the measured values as read, sds and warnings as in the file") {
  // A Kd (lower binds tighter) was maximised: the surrogate ranked and the combinations paired the weakest binders.
  kfold::test::ScratchDir dir("agent-campaign-better");
  { std::ofstream(dir / "f.a3m") << ">q\nMQIF\n"; }
  { std::ofstream(dir / "kd.csv") << "variant,value,sd\nWT,1e-7,1e-8\nQ2A,8e-7,1e-8\nI3V,2e-8\n"; }
  const std::string common = R"("name": "x", "target": {"id": "Q", "sequence": "MQIF", "msa": "f.a3m"}, )"
                             R"("results": ["kd.csv"])";
  const Campaign higher = parse_campaign("{" + common + "}", dir / "c.json");
  const Campaign lower = parse_campaign("{" + common + R"(, "better": "lower"})", dir / "c.json");
  CHECK_FALSE(higher.lower_is_better);
  CHECK(measured_direction_note(higher).empty());
  REQUIRE(lower.lower_is_better);
  CHECK(measured_direction_note(lower).find("negated") != std::string::npos);
  REQUIRE(lower.measurements.size() == 3u);
  for (size_t k = 0; k < 3; ++k) {
    CHECK(lower.measurements[k].value == -higher.measurements[k].value);
    CHECK(lower.measurements[k].sd == higher.measurements[k].sd);
  }
  CHECK(lower.measurements[2].value == doctest::Approx(-2e-8));  // the tightest binder is the best
}
