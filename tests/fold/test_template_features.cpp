// Template features against AlphaFold's featurizer (tests/fixtures/templates/, made by
// scripts/make_fixture_template_features.py from real PDB entries), and the hit rules on their own.
// The mmCIF reader's own tests: tests/data/test_template_structure.cpp.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "data/error.hpp"
#include "data/npz_file.hpp"
#include "data/residue_constants.hpp"
#include "data/template_structure.hpp"
#include "fold/template_features.hpp"
#include "test_support.hpp"

namespace rc = kfold::data::rc;
using kfold::fold::TemplateFeatures;
using kfold::fold::TemplateHit;

namespace {

const std::filesystem::path kFixtures = kfold::test::source_dir() / "tests/fixtures/templates";

nlohmann::json fixture_json() {
  std::ifstream in(kFixtures / "template_features.json");
  return nlohmann::json::parse(in);
}

std::vector<TemplateHit> fixture_hits(const nlohmann::json& j) {
  std::vector<TemplateHit> hits;
  for (const auto& h : j["hits"]) {
    TemplateHit hit;
    hit.name = h["name"];
    hit.sequence = h["sequence"];
    hit.aligned_cols = h["aligned_cols"];
    hit.score = h["score"];
    for (const auto& m : h["mapping"]) hit.mapping.emplace_back(m[0].get<int64_t>(), m[1].get<int64_t>());
    hits.push_back(hit);
  }
  return hits;
}

// Largest |a - b| (INFINITY when the sizes differ).
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double{a[i]} - double{b[i]}));
  return worst;
}

}  // namespace

TEST_CASE("Template features equal AlphaFold's HmmsearchHitFeaturizer on real PDB entries") {
  const nlohmann::json j = fixture_json();
  const kfold::data::NpzFile npz(kFixtures / "template_features.npz");
  const std::string query = j["query"];
  for (const auto& [name, expected] : j["cases"].items()) {
    CAPTURE(name);
    kfold::fold::TemplateFeaturizerOptions options;
    options.mmcif_dir = kFixtures / "mmcif";
    options.max_template_date = expected["max_template_date"];
    const auto result = kfold::fold::featurize_template_hits(query, fixture_hits(j), options);
    const TemplateFeatures& f = result.features;
    CHECK(f.domain_names == expected["domain_names"].get<std::vector<std::string>>());
    CHECK(f.sequence == expected["sequence"].get<std::vector<std::string>>());
    // Positions are the file's decimals rounded to float32 as Biopython does, masks and one-hots exact:
    // tolerance 0 for every array.
    CHECK(max_abs_diff(f.aatype, npz.read<float>(name + "/template_aatype")) == 0.0);
    CHECK(max_abs_diff(f.all_atom_masks, npz.read<float>(name + "/template_all_atom_masks")) == 0.0);
    CHECK(max_abs_diff(f.all_atom_positions, npz.read<float>(name + "/template_all_atom_positions")) == 0.0);
    CHECK(max_abs_diff(f.sum_probs, npz.read<float>(name + "/template_sum_probs")) == 0.0);
    // Every hit the reference did not keep is reported with a reason.
    CHECK(result.skipped.size() == j["hits"].size() - f.domain_names.size());
    for (const auto& s : result.skipped) CHECK_FALSE(s.reason.empty());
  }
}

TEST_CASE("Template hits: DeepMind's prefilter, max_hits and the dated entry") {
  const nlohmann::json j = fixture_json();
  const std::string query = j["query"];
  const auto hits = fixture_hits(j);
  for (size_t i = 0; i < hits.size(); ++i) {
    CAPTURE(hits[i].name);
    CHECK(kfold::fold::prefilter_template_hit(hits[i], query).empty() == !j["hits"][i]["prefiltered"].get<bool>());
  }
  TemplateHit tiny{"1abc_A", "ACDEFGHI", {}, 100, 1.0};
  CHECK(kfold::fold::prefilter_template_hit(tiny, std::string(120, 'A')) == "too short (8 residues)");

  kfold::fold::TemplateFeaturizerOptions options;
  options.mmcif_dir = kFixtures / "mmcif";
  options.max_hits = 2;
  const auto two = kfold::fold::featurize_template_hits(query, hits, options);
  CHECK(two.features.domain_names == std::vector<std::string>{"2ofg_X", "1a8o_A"});
  options.max_hits = 20;
  options.max_template_date = "1999-04-27";  // 1A7G's release: not after the limit (and 1A8O's, 1998-10-14)
  CHECK(kfold::fold::featurize_template_hits(query, hits, options).features.domain_names ==
        std::vector<std::string>{"1a8o_A", "1a7g_E"});
  options.max_template_date = "1999-04-26";
  CHECK(kfold::fold::featurize_template_hits(query, hits, options).features.domain_names ==
        std::vector<std::string>{"1a8o_A"});
  for (const char* not_a_day : {"1999/04/27", "2022-13-45", "2022-02-29", "2021-04-31", "2021-00-10"}) {
    CAPTURE(not_a_day);
    options.max_template_date = not_a_day;
    CHECK_THROWS_WITH_AS(kfold::fold::featurize_template_hits(query, hits, options),
                         doctest::Contains("not a date: use YYYY-MM-DD"), kfold::InputError);
  }
  options.max_template_date = "2024-02-29";  // a leap day
  CHECK_NOTHROW(kfold::fold::featurize_template_hits(query, hits, options));
  options.max_template_date = "";
  options.mmcif_dir = kFixtures / "no-such-folder";
  CHECK_THROWS_AS(kfold::fold::featurize_template_hits(query, hits, options), kfold::InputError);
}

TEST_CASE("Template hits: a folder without their mmCIF files is refused, upper-case file names are found") {
  const nlohmann::json j = fixture_json();
  const std::string query = j["query"];
  const auto hits = fixture_hits(j);
  const kfold::test::ScratchDir dir("template_mmcif_names");
  kfold::fold::TemplateFeaturizerOptions options;
  options.mmcif_dir = dir.path();
  // Not one file there: the folder is wrong, and a silent template-free run would hide it.
  CHECK_THROWS_WITH_AS(kfold::fold::featurize_template_hits(query, hits, options),
                       doctest::Contains("not one of the 5 template hits' files is there"), kfold::InputError);
  // Some mirrors write upper-case names (2OFG.cif.gz), some the divided layout (of/2ofg.cif.gz).
  std::filesystem::create_directories(dir / "a8");
  std::filesystem::copy_file(kFixtures / "mmcif/2ofg.cif.gz", dir / "2OFG.cif.gz");
  std::filesystem::copy_file(kFixtures / "mmcif/1a8o.cif.gz", dir / "a8/1a8o.cif.gz");
  const auto found = kfold::fold::featurize_template_hits(query, hits, options);
  CHECK(found.features.domain_names == std::vector<std::string>{"2ofg_X", "1a8o_A"});
  int64_t missing = 0;
  for (const auto& skipped : found.skipped) missing += skipped.reason.find("no 4zhl.cif[.gz] in") == 0 ? 1 : 0;
  CHECK(missing == 2);  // 4zhl_Z and 4zhl_U: one entry, looked up once, both hits skipped with the reason
}

TEST_CASE("Template hits of a complex: judged against the chain they template, the chains taking turns") {
  const nlohmann::json j = fixture_json();
  const std::string chain = j["query"];
  const auto L = static_cast<int64_t>(chain.size());
  kfold::fold::TemplateFeaturizerOptions options;
  options.mmcif_dir = kFixtures / "mmcif";
  const auto alone = kfold::fold::featurize_template_hits(chain, fixture_hits(j), options);
  REQUIRE(alone.features.n_templates >= 2);
  const auto shifted = [&](int64_t by, double score_change) {
    auto hits = fixture_hits(j);
    for (auto& hit : hits) {
      for (auto& [query_index, template_index] : hit.mapping) query_index += by;
      hit.score += score_change;
    }
    return hits;
  };
  // A partner ten times the chain's length before it: against the joined sequence every hit aligns to under
  // 10 % (a peptide partner lost its full-length template so); against its own chain each is judged as alone.
  const std::string partner(static_cast<size_t>(10 * L), 'G');
  std::vector<int32_t> asym_id(static_cast<size_t>(11 * L), 1);
  std::fill(asym_id.begin() + 10 * L, asym_id.end(), 2);
  const auto joined = kfold::fold::featurize_template_hits(partner + chain, shifted(10 * L, 0.0), options);
  CHECK(joined.features.n_templates == 0);
  const auto complex = kfold::fold::featurize_template_hits(partner + chain, shifted(10 * L, 0.0), options, asym_id);
  CHECK(complex.features.domain_names == alone.features.domain_names);
  for (size_t t = 0; t < complex.features.sequence.size(); ++t) {
    CHECK(complex.features.sequence[t] == std::string(static_cast<size_t>(10 * L), '-') + alone.features.sequence[t]);
  }
  for (const auto& skipped : complex.skipped) CHECK(skipped.reason.find("% of the query") == std::string::npos);
  // A homodimer whose second chain's hits all score lower: with two template slots each chain gets its best
  // (by score alone, chain 1's two best would take both).
  auto hits = fixture_hits(j);
  for (auto& hit : shifted(L, -1000.0)) hits.push_back(hit);
  std::vector<int32_t> dimer(static_cast<size_t>(2 * L), 1);
  std::fill(dimer.begin() + L, dimer.end(), 2);
  options.max_hits = 2;
  const auto two = kfold::fold::featurize_template_hits(chain + chain, hits, options, dimer);
  const std::string first = alone.features.domain_names.front();
  CHECK(two.features.domain_names == std::vector<std::string>{first, first});
  REQUIRE(two.features.sequence.size() == 2);
  const std::string blank(static_cast<size_t>(L), '-');
  CHECK(two.features.sequence[0] == alone.features.sequence[0] + blank);
  CHECK(two.features.sequence[1] == blank + alone.features.sequence[0]);
}

TEST_CASE("Template hits: a copy of a kept template (another entry of its sequence) is skipped unread") {
  const nlohmann::json j = fixture_json();
  const std::string query = j["query"];
  auto hits = fixture_hits(j);
  kfold::fold::TemplateFeaturizerOptions options;
  options.mmcif_dir = kFixtures / "mmcif";
  const auto alone = kfold::fold::featurize_template_hits(query, hits, options);
  // 300 entries of 2OFG's sequence, aligned alike, ranked just after it (7a00 ... : no files exist).
  TemplateHit first = hits.front();
  for (int k = 0; k < 300; ++k) {
    TemplateHit copy = first;
    copy.name = fmt::format("7{:03d}_X", k);
    copy.score -= 1e-3 * (k + 1);
    hits.push_back(copy);
  }
  const auto with_copies = kfold::fold::featurize_template_hits(query, hits, options);
  CHECK(with_copies.features.domain_names == alone.features.domain_names);
  int64_t copies = 0;
  for (const auto& skipped : with_copies.skipped)
    copies += skipped.reason == "the same sequence and alignment as template 2ofg_X" ? 1 : 0;
  CHECK(copies == 300);
}

TEST_CASE("Template hits: check_cancelled stops the featurizer before the next hit") {
  const nlohmann::json j = fixture_json();
  const auto hits = fixture_hits(j);
  kfold::fold::TemplateFeaturizerOptions options;
  options.mmcif_dir = kFixtures / "mmcif";
  int calls = 0;
  options.check_cancelled = [&calls] {
    if (++calls == 3) throw std::runtime_error("cancelled");
  };
  CHECK_THROWS_WITH(kfold::fold::featurize_template_hits(j["query"], hits, options), "cancelled");
  CHECK(calls == 3);
}

TEST_CASE("Template features: a database sequence that differs from the file's SEQRES is realigned") {
  const auto structure = kfold::data::read_template_structure(kFixtures / "mmcif/4zhl.cif.gz");
  const std::string seqres = structure.chain("U")->sequence;
  // The database's version of residues 0-59 with one residue dropped at 30 and 2 substitutions (> 90 % same).
  std::string db = seqres.substr(0, 30) + seqres.substr(31, 29);
  db[5] = db[5] == 'W' ? 'A' : 'W';
  db[40] = db[40] == 'W' ? 'A' : 'W';
  const std::string query = db;
  TemplateHit hit{"4zhl_U", db, {}, static_cast<int64_t>(db.size()), 1.0};
  for (int64_t i = 0; i < static_cast<int64_t>(db.size()); ++i) hit.mapping.emplace_back(i, i);
  const auto f = kfold::fold::extract_template_features(structure, "4zhl", "U", hit, query);
  // Query residue 35 is database residue 35 = SEQRES residue 36 (after the dropped one).
  const auto& u = *structure.chain("U");
  for (int a = 0; a < rc::atom_type_num * 3; ++a)
    CHECK(f.all_atom_positions[35 * rc::atom_type_num * 3 + a] == u.atom_positions[36 * rc::atom_type_num * 3 + a]);
  CHECK(f.sequence.front()[35] == seqres[36]);
  // Too different (every residue changed): not used.
  TemplateHit other = hit;
  for (char& c : other.sequence) c = c == 'G' ? 'P' : 'G';
  CHECK_THROWS_WITH_AS(kfold::fold::extract_template_features(structure, "4zhl", "U", other, query),
                       doctest::Contains("less than 90 % identical"), kfold::fold::TemplateError);
}

TEST_CASE("Template features: neighbouring residues over 150 A apart drop the template, as AlphaFold drops it") {
  // 1A8O chain A with residues 35 on moved 200 A along x (it was used, a broken template for the model).
  auto structure = kfold::data::read_template_structure(kFixtures / "mmcif/1a8o.cif.gz");
  auto& a = structure.chains.front();
  REQUIRE(a.id == "A");
  for (int64_t r = 34; r < a.n_res(); ++r)
    for (int atom = 0; atom < rc::atom_type_num; ++atom) a.atom_positions[(r * rc::atom_type_num + atom) * 3] += 200.0f;
  const std::string query = a.sequence;
  TemplateHit hit{"1a8o_A", a.sequence, {}, a.n_res(), 1.0};
  for (int64_t i = 0; i < a.n_res(); ++i) hit.mapping.emplace_back(i, i);
  CHECK_THROWS_WITH_AS(kfold::fold::extract_template_features(structure, "1a8o", "A", hit, query),
                       doctest::Contains("the CA atoms of SEQRES residues 34 and 35 of chain A are"),
                       kfold::fold::TemplateError);
  for (int64_t r = 34; r < a.n_res(); ++r)  // 140 A: kept
    for (int atom = 0; atom < rc::atom_type_num; ++atom) a.atom_positions[(r * rc::atom_type_num + atom) * 3] -= 60.0f;
  CHECK(kfold::fold::extract_template_features(structure, "1a8o", "A", hit, query).n_templates == 1);
}

TEST_CASE("Template hits: the prefilter's boundaries, max_hits, stacking and too few atoms") {
  std::string query;
  for (int i = 0; i < 5; ++i) query += "MKVLAAGICWSTPNDEFHRQ";
  REQUIRE(query.size() == 100);
  const std::string other(50, 'W');
  // Aligned to exactly 10 % of the query: not > 10 %.
  CHECK(kfold::fold::prefilter_template_hit({"1abc_A", other, {}, 10, 1.0}, query).find("needs > 10 %") !=
        std::string::npos);
  CHECK(kfold::fold::prefilter_template_hit({"1abc_A", other, {}, 11, 1.0}, query).empty());
  // The query's own sequence only when it covers > 95 %: 93 letters of it are a template.
  CHECK(kfold::fold::prefilter_template_hit({"1abc_A", query.substr(0, 93), {}, 93, 1.0}, query).empty());
  CHECK(kfold::fold::prefilter_template_hit({"1abc_A", query.substr(0, 96), {}, 96, 1.0}, query).find("own sequence") !=
        std::string::npos);
  // 10 residues are enough, 9 are not.
  CHECK(kfold::fold::prefilter_template_hit({"1abc_A", other.substr(0, 10), {}, 20, 1.0}, query).empty());
  CHECK(kfold::fold::prefilter_template_hit({"1abc_A", other.substr(0, 9), {}, 20, 1.0}, query) ==
        "too short (9 residues)");

  kfold::fold::TemplateFeaturizerOptions options;
  options.mmcif_dir = kFixtures / "mmcif";
  options.max_hits = 0;
  CHECK_THROWS_WITH_AS(kfold::fold::featurize_template_hits(query, {}, options),
                       doctest::Contains("--max-template-hits must be at least 1"), kfold::InputError);

  TemplateFeatures a, b;
  a.n_templates = b.n_templates = 1;
  a.n_res = 10;
  b.n_res = 11;
  CHECK_THROWS_WITH_AS(kfold::fold::append_templates(a, b), doctest::Contains("cannot be stacked"),
                       kfold::RuntimeError);

  // A chain whose residues have only their CA: 4 mapped residues are 4 atoms (< 5, fewer than an alanine's).
  kfold::data::TemplateStructure structure;
  structure.source = "hand.cif";
  kfold::data::TemplateChain chain;
  chain.id = "A";
  chain.sequence = "ACDEFGHIKL";
  chain.atom_positions.assign(10 * rc::atom_type_num * 3, 1.0f);
  chain.atom_mask.assign(10 * rc::atom_type_num, 0.0f);
  for (int64_t r = 0; r < 10; ++r) chain.atom_mask[static_cast<size_t>(r * rc::atom_type_num + 1)] = 1.0f;
  structure.chains.push_back(chain);
  TemplateHit hit{"1abc_A", "ACDEFGHIKL", {{0, 0}, {1, 1}, {2, 2}, {3, 3}}, 4, 1.0};
  CHECK_THROWS_WITH_AS(kfold::fold::extract_template_features(structure, "1abc", "A", hit, "ACDEFG"),
                       doctest::Contains("no atoms of 1abc_A face the query"), kfold::fold::TemplateError);
  hit.mapping.emplace_back(4, 4);
  CHECK(kfold::fold::extract_template_features(structure, "1abc", "A", hit, "ACDEFG").sequence.front() == "ACDEF-");
}

TEST_CASE("Template features: a realigned database sequence below 90 % identity is refused") {
  const auto structure = kfold::data::read_template_structure(kFixtures / "mmcif/4zhl.cif.gz");
  const std::string seqres = structure.chain("U")->sequence;
  // 59 residues (one dropped) with 7 substitutions: 52 of 59 (88 %) the same.
  std::string db = seqres.substr(0, 30) + seqres.substr(31, 29);
  for (const size_t i : {0, 8, 16, 24, 36, 44, 52}) db[i] = db[i] == 'W' ? 'A' : 'W';
  TemplateHit hit{"4zhl_U", db, {}, static_cast<int64_t>(db.size()), 1.0};
  for (int64_t i = 0; i < static_cast<int64_t>(db.size()); ++i) hit.mapping.emplace_back(i, i);
  CHECK_THROWS_WITH_AS(kfold::fold::extract_template_features(structure, "4zhl", "U", hit, db),
                       doctest::Contains("less than 90 % identical"), kfold::fold::TemplateError);
}
