// Proposal operators of later rounds (coevolution pairs, combinations of measured beneficial singles),
// the library restriction, the evolution cache and the structure-term seam.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "data/atomic_output.hpp"
#include "data/sha256.hpp"
#include "pipelines/agent/evolution_cache.hpp"
#include "pipelines/agent/evolutionary_models.hpp"
#include "pipelines/agent/operators.hpp"
#include "pipelines/agent/scoring.hpp"
#include "pipelines/agent/structure_oracle.hpp"
#include "test_support.hpp"

using namespace kfold::pipelines::agent;

namespace {

// The synthetic fixture family (focus SYN/5-46) as a campaign.
Campaign synthetic_campaign(int64_t max_mutations) {
  const std::string json = R"({"name": "syn", "target": {"id": "SYN", "first_residue": 5,
    "sequence": "KDDSLNPRALDWKWMCMDSYPVIDMKQYGVDHSFQLMWTTMY", "msa": "synthetic.a2m"},
    "frozen": [6], "max_mutations": )" +
                           std::to_string(max_mutations) +
                           R"(, "evolution": {"model": "potts", "potts_iterations": 15}})";
  return parse_campaign(json, kfold::test::source_dir() / "tests/fixtures/agent/campaign.json");
}

Measurement measured(const std::string& v, double value, std::optional<double> sd = std::nullopt) {
  Measurement m;
  m.variant = parse_variant(v, "test");
  m.value = value;
  m.sd = sd;
  return m;
}

}  // namespace

TEST_CASE("operators: coevolution pairs at top APC pairs, favoured by the coupling") {
  const Campaign c = synthetic_campaign(2);
  EvolutionOptions eo;
  eo.threads = 2;
  const EvolutionaryModels models = build_evolutionary_models(c, eo);
  REQUIRE(models.potts);
  HypothesisSet set;
  propose_coevolution_pairs(c, models, set, 5, 2);
  REQUIRE(!set.items().empty());
  CHECK(set.items().size() <= 10u);
  for (const Hypothesis& h : set.items()) {
    REQUIRE(h.variant.substitutions.size() == 2u);
    const Substitution& a = h.variant.substitutions[0];
    const Substitution& b = h.variant.substitutions[1];
    CHECK(b.position - a.position >= 3);
    CHECK(a.position != 6);  // frozen
    CHECK(h.operators == std::vector<std::string>{"coevolution_pair"});
    REQUIRE(h.rationale.size() == 1u);
    CHECK(h.rationale[0].find("coevolving pair") != std::string::npos);
    // The coupling favours the pair: positive epistasis in the fitted J.
    const int64_t ci = models.column_of_index[static_cast<size_t>(a.position - 5)];
    const int64_t cj = models.column_of_index[static_cast<size_t>(b.position - 5)];
    const auto& p = *models.potts;
    const uint8_t wi = residue_state(a.wild_type), wj = residue_state(b.wild_type);
    const uint8_t mi = residue_state(a.mutant), mj = residue_state(b.mutant);
    CHECK(static_cast<double>(p.J(ci, cj, mi, mj)) - p.J(ci, cj, mi, wj) - p.J(ci, cj, wi, mj) + p.J(ci, cj, wi, wj) >
          0.0);
  }
  HypothesisSet none;
  propose_coevolution_pairs(synthetic_campaign(1), models, none);
  CHECK(none.items().empty());
}

TEST_CASE("operators: combinations of measured beneficial singles") {
  Campaign c = synthetic_campaign(3);
  c.measurements = {measured("WT", 0.0),   measured("D7A", 1.0), measured("S8G", 0.5), measured("L9A", -1.0),
                    measured("N10Q", 0.2), measured("D7E", 0.1), measured("K5R", 2.0)};
  // K5R is best but its residue... is not frozen (6 is): it combines.
  HypothesisSet set;
  propose_beneficial_combinations(c, set);
  // Beneficial at distinct positions: K5R, D7A (D7E is a second one at 7), S8G, N10Q -> 6 pairs + 1 triple.
  REQUIRE(set.items().size() == 7u);
  for (const Hypothesis& h : set.items()) {
    CHECK(h.operators == std::vector<std::string>{"combine_beneficial"});
    for (const auto& s : h.variant.substitutions) CHECK(format_variant(Variant{{s}}) != "L9A");
  }
  CHECK(format_variant(set.items()[0].variant) == "K5R:D7A");
  CHECK(format_variant(set.items().back().variant) == "K5R:D7A:S8G");
  c.max_mutations = 1;
  HypothesisSet none;
  propose_beneficial_combinations(c, none);
  CHECK(none.items().empty());
}

TEST_CASE("operators: beneficial singles are judged by their replicates' weighted mean, as the scores are") {
  // D7A: 0.30 +- 0.05 and a noisy -0.20 +- 0.5 (consistent): weighted mean 0.295 (what scores.tsv says), above the
  // wild type's 0.1; the plain mean 0.05 left it out of every combination.
  Campaign c = synthetic_campaign(3);
  c.measurements = {measured("WT", 0.1, 0.1),    measured("WT", 0.1, 0.1),  measured("D7A", 0.30, 0.05),
                    measured("D7A", -0.20, 0.5), measured("S8G", 0.5, 0.1), measured("N10Q", 0.4, 0.1)};
  HypothesisSet set;
  propose_beneficial_combinations(c, set);
  std::vector<std::string> names;
  for (const Hypothesis& h : set.items()) names.push_back(format_variant(h.variant));
  CHECK(names == std::vector<std::string>{"S8G:N10Q", "D7A:S8G", "D7A:N10Q", "D7A:S8G:N10Q"});
  // Without WT rows the reference is the median of the variants' means (0.295, 0.4, 0.5: 0.4): S8G alone is
  // above it, and one single makes no combination.
  c.measurements.erase(c.measurements.begin(), c.measurements.begin() + 2);
  HypothesisSet no_wild_type;
  propose_beneficial_combinations(c, no_wild_type);
  CHECK(no_wild_type.items().empty());
}

TEST_CASE("operators: the library keeps its variants only and adds the missing ones") {
  Campaign c = synthetic_campaign(2);
  HypothesisSet set;
  propose_single_substitutions(c, set);
  c.library_variants = {parse_variant("D7A", "t"), parse_variant("D7A:S8G", "t"), parse_variant("K5R", "t")};
  const HypothesisSet kept = restrict_to_library(c, set);
  REQUIRE(kept.items().size() == 3u);
  CHECK(format_variant(kept.items()[0].variant) == "K5R");  // hypothesis order of the proposals first
  CHECK(kept.items()[0].id == "H0001");
  CHECK(format_variant(kept.items()[1].variant) == "D7A");
  CHECK(format_variant(kept.items()[2].variant) == "D7A:S8G");
  CHECK(kept.items()[2].operators == std::vector<std::string>{"library"});
  c.library_variants.clear();
  CHECK(restrict_to_library(c, set).items().size() == set.items().size());
}

TEST_CASE("evolution cache: a second build reads the same weights and Potts parameters") {
  kfold::test::ScratchDir dir("agent-evo-cache");
  const Campaign c = synthetic_campaign(1);
  EvolutionOptions eo;
  eo.threads = 2;
  eo.cache_dir = dir.path();
  const EvolutionaryModels a = build_evolutionary_models(c, eo);
  CHECK(!a.from_cache);
  const EvolutionaryModels b = build_evolutionary_models(c, eo);
  CHECK(b.from_cache);
  CHECK(a.weights.weights == b.weights.weights);
  CHECK(a.weights.neighbours == b.weights.neighbours);
  CHECK(a.weights.neff == b.weights.neff);
  REQUIRE(b.potts);
  CHECK(a.potts->params == b.potts->params);
  CHECK(a.potts->fit.stop_reason == b.potts->fit.stop_reason);
  CHECK(a.potts->fit.iterations == b.potts->fit.iterations);
  // One flipped bit in the Potts parameters: the checksum catches it, and the next build refits and
  // rewrites the file.
  const std::string cached_key = evolution_cache_key(kfold::data::sha256_file(c.target.msa), c.evolution.identity, true,
                                                     c.evolution.potts_iterations, 0.01, 0.01);
  const auto cache_file = dir / (cached_key + ".evo");
  REQUIRE(std::filesystem::exists(cache_file));
  std::ifstream in(cache_file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  bytes[bytes.size() - 64 - 100] ^= 0x01;
  kfold::data::write_file_atomic(cache_file, bytes);
  CHECK(
      !load_evolution_cache(dir.path(), cached_key, static_cast<int64_t>(a.weights.weights.size()), a.alignment.n_col));
  const EvolutionaryModels refit = build_evolutionary_models(c, eo);
  CHECK(!refit.from_cache);
  CHECK(refit.potts->params == a.potts->params);
  CHECK(build_evolutionary_models(c, eo).from_cache);
  // Values changed and signed again (anyone who can write a shared cache folder): a weight that is not 1 / its
  // neighbour count changed every evolutionary score silently; such a file is refitted.
  {
    std::ifstream again(cache_file, std::ios::binary);
    std::string signed_bytes((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>());
    signed_bytes.resize(signed_bytes.size() - 64);
    const double planted = 1e6;
    std::memcpy(signed_bytes.data() + 8 + sizeof(int64_t), &planted, sizeof(double));  // the first weight
    signed_bytes += kfold::data::sha256_hex(signed_bytes);
    kfold::data::write_file_atomic(cache_file, signed_bytes);
    kfold::test::CapturedWarnings warnings;
    CHECK(!load_evolution_cache(dir.path(), cached_key, static_cast<int64_t>(a.weights.weights.size()),
                                a.alignment.n_col));
    REQUIRE(warnings.lines.size() == 1);
    CHECK(warnings.lines[0].find("sequence 0 has weight 1000000 and") != std::string::npos);
  }
  // Other options, another key; a damaged file is ignored.
  const std::string key = evolution_cache_key("x", 0.8, true, 15, 0.01, 0.01);
  CHECK(key != evolution_cache_key("x", 0.8, true, 16, 0.01, 0.01));
  CHECK(key != evolution_cache_key("x", 0.7, true, 15, 0.01, 0.01));
  kfold::data::write_file_atomic(dir / (key + ".evo"), "KFEVO01\ngarbage");
  CHECK(!load_evolution_cache(dir.path(), key, 151, 40));
  CHECK(!load_evolution_cache(dir.path(), "absent", 151, 40));
}

namespace {

// A stand-in oracle: pLDDT falls near every position where the sequence differs from the wild type.
class FakeOracle : public StructureOracle {
 public:
  explicit FakeOracle(std::string wt) : wt_(std::move(wt)) {}
  StructurePrediction predict(const std::string& sequence) override {
    StructurePrediction p;
    const size_t n = sequence.size();
    int64_t changed = 0;
    for (size_t k = 0; k < n; ++k) {
      const bool diff = sequence[k] != wt_[k];
      changed += diff;
      p.plddt.push_back(diff ? 60.0 : 90.0);
      p.ca.push_back({3.8 * static_cast<double>(k), diff ? 1.0 : 0.0, 0.0});
    }
    p.ptm = 0.8 - 0.05 * static_cast<double>(changed);
    return p;
  }

 private:
  std::string wt_;
};

}  // namespace

TEST_CASE("structure seam: terms from an oracle, folded into the total") {
  const std::string wt = "ACDEFGHIKL";
  FakeOracle oracle(wt);
  const StructurePrediction w = oracle.predict(wt);
  const Variant v = parse_variant("D3A", "t");
  const StructureTerms t = structure_terms(w, oracle.predict(apply_variant(v, wt, 1)), v, 1, 1);
  CHECK(t.delta_plddt_site == doctest::Approx(-10.0));  // residues 2..4: one of three at -30
  CHECK(t.delta_ptm == doctest::Approx(-0.05));
  CHECK(t.ca_drmsd > 0.0);
  CHECK(structure_terms(w, w, v, 1).ca_drmsd == 0.0);
  CHECK_THROWS(structure_terms(w, oracle.predict("ACD"), v, 1));

  std::vector<Hypothesis> hs(2);
  hs[0].variant = v;
  hs[1].variant = parse_variant("D3A:F5G", "t");
  ScoreTable table;
  table.structure_weight = 1.0;  // as score_hypotheses sets it for a stability objective
  for (const Hypothesis& h : hs) {
    ScoredVariant r;
    r.hypothesis = &h;
    r.total = 0.0;
    table.rows.push_back(r);
  }
  std::vector<std::optional<StructureTerms>> terms;
  for (const Hypothesis& h : hs) {
    terms.push_back(structure_terms(w, oracle.predict(apply_variant(h.variant, wt, 1)), h.variant, 1));
  }
  add_structure_terms(table, terms);
  CHECK(table.structure_terms);
  CHECK(table.rows[0].total > table.rows[1].total);  // the double mutant is predicted worse
  CHECK(table.rows[0].structure.has_value());
  CHECK(table.rows[0].rationale.find("structure:") != std::string::npos);
}

TEST_CASE("structure seam: burial, lost contacts and new clashes on hand-built traces") {
  // Six residues: 0-4 on a line 3.8 Å apart, residue 5 folded back next to residue 1 (Cβ = Cα here).
  StructurePrediction wt;
  wt.ca = {{0, 0, 0}, {3.8, 0, 0}, {7.6, 0, 0}, {11.4, 0, 0}, {15.2, 0, 0}, {3.8, 5.0, 0}};
  wt.plddt.assign(6, 90.0);
  wt.ptm = 0.8;
  // The mutant at residue 2 (1-based) loses the fold-back contact: residue 6 swings away; and residue 5
  // collapses onto residue 3, two apart in sequence (a clash, 1.0 Å).
  StructurePrediction mutant = wt;
  mutant.ca[5] = {3.8, 20.0, 0};
  mutant.ca[4] = {7.6, 1.0, 0};
  const Variant v = parse_variant("C2A", "t");
  const StructureTerms t = structure_terms(wt, mutant, v, 1);
  // Residue 2's wild-type neighbours within 10 Å: residues 1, 3, 4 (7.6 Å), 6 (5 Å); 5 is 11.4 Å away.
  CHECK(t.burial_site == 4.0);
  // Contacts >= 3 apart within 8 Å: residue 2 with 6 (5 Å) in the wild type, gone in the mutant (4 apart
  // in sequence); residue 5 is 11.4 Å away in both.
  CHECK(t.lost_contacts == 1);
  CHECK(t.new_clashes == 1);
  CHECK(structure_terms(wt, wt, v, 1).new_clashes == 0);
  CHECK(t.new_violations == 0);  // not checked (-1) on either side

  // A clash becomes a soft flag when the terms join the table.
  Hypothesis h;
  h.variant = v;
  ScoreTable table;
  table.evolutionary_weight = 1.0;
  ScoredVariant r;
  r.hypothesis = &h;
  table.rows.push_back(r);
  add_structure_terms(table, {t});
  REQUIRE(table.rows[0].flags.size() == 1u);
  CHECK(table.rows[0].flags[0].name == "predicted_clash");
  CHECK(!table.rows[0].flags[0].hard);

  // Residues failing AlphaFold's structural checks (counted by the model's oracle): 2 in the wild type, 5 in
  // the mutant: 3 new ones, a second soft flag.
  wt.violating_residues = 2;
  mutant.violating_residues = 5;
  const StructureTerms checked = structure_terms(wt, mutant, v, 1);
  CHECK(checked.new_violations == 3);
  CHECK(structure_terms(mutant, wt, v, 1).new_violations == 0);
  table.rows[0].flags.clear();
  add_structure_terms(table, {checked});
  REQUIRE(table.rows[0].flags.size() == 2u);
  CHECK(table.rows[0].flags[1].name == "structural_violations");
  CHECK(!table.rows[0].flags[1].hard);
  CHECK(table.rows[0].rationale.find("3 more residues with structural violations") != std::string::npos);
}

TEST_CASE("evolutionary models: an alignment of the target alone is warned of") {
  // One row: every score is the pseudo-count's; the run went on without a word (a wrong file given as the msa).
  const kfold::test::ScratchDir dir("one-row-alignment");
  { std::ofstream(dir / "one.a2m") << ">SYN/5-46 synthetic focus\nkDDSLNPRALDwKWMCMDS-YPVIDMKQYGVDHSFQLMWTTMY\n"; }
  const Campaign c = parse_campaign(R"({"name": "syn", "target": {"id": "SYN", "first_residue": 5,
    "sequence": "KDDSLNPRALDWKWMCMDSYPVIDMKQYGVDHSFQLMWTTMY", "msa": "one.a2m"}})",
                                    dir / "campaign.json");
  EvolutionOptions eo;
  eo.threads = 1;
  eo.fit_potts = false;
  {
    const kfold::test::CapturedWarnings warnings;
    CHECK(build_evolutionary_models(c, eo).alignment.n_seq == 1);
    REQUIRE(warnings.lines.size() == 1u);
    CHECK(warnings.lines[0].find("one.a2m: the alignment holds the target alone") != std::string::npos);
  }
  // The fixture's family (150 homologs) gets no such warning.
  const kfold::test::CapturedWarnings none;
  build_evolutionary_models(synthetic_campaign(1), eo);
  CHECK(none.lines.empty());
}
