// Structure-derived quantities (virtual Cβ, burial) against a crystal structure, the structure-rule
// proposal operators on real and ideal geometry, and the solubility term.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string_view>

#include "data/structure_io.hpp"
#include "pipelines/agent/evolutionary_models.hpp"
#include "pipelines/agent/liability_filters.hpp"
#include "pipelines/agent/solubility_score.hpp"
#include "pipelines/agent/structure_operators.hpp"
#include "pipelines/agent/wild_type_structure.hpp"
#include "test_support.hpp"

using namespace kfold::pipelines::agent;

namespace {

const char* const kResidueTypes = "ARNDCQEGHILKMFPSTWYVX";  // rc::restypes order

kfold::data::Protein hiv_protease() {
  return kfold::data::read_structure(kfold::test::source_dir() / "data/examples/1hpv_chain_a.pdb");
}

std::string sequence_of(const kfold::data::Protein& p) {
  std::string s;
  for (const int64_t t : p.aatype) s += kResidueTypes[t];
  return s;
}

// The predicted wild type as an oracle would give it, from a crystal structure, all residues at `plddt`.
WildTypeStructure structure_of(const kfold::data::Protein& p, size_t n_res, double plddt = 90.0) {
  StructurePrediction prediction;
  prediction.ca = alpha_carbons(p);
  prediction.cb = beta_carbons(p);
  prediction.ca.resize(n_res);
  prediction.cb.resize(n_res);
  prediction.plddt.assign(n_res, plddt);
  return analyse_wild_type(prediction, n_res);
}

Campaign campaign_for(const std::string& sequence, int64_t max_mutations) {
  Campaign c;
  c.target.sequence = sequence;
  c.target.first_residue = 1;
  c.max_mutations = max_mutations;
  return c;
}

std::array<double, 3> atom_of(const kfold::data::Protein& p, size_t residue, size_t atom) {
  const size_t at = (residue * 37 + atom) * 3;
  return {p.atom_positions[at], p.atom_positions[at + 1], p.atom_positions[at + 2]};
}

bool has_operator(const Hypothesis& h, std::string_view name) {
  return std::find(h.operators.begin(), h.operators.end(), name) != h.operators.end();
}

}  // namespace

TEST_CASE("virtual Cβ and burial against the 1HPV crystal structure") {
  const auto p = hiv_protease();
  const std::string seq = sequence_of(p);
  REQUIRE(seq.size() == 99u);
  // Tolerance: the ideal Cβ lies within 0.3 Å of the modelled one (bond-angle spread in a 1.9 Å structure).
  int64_t compared = 0;
  for (size_t i = 0; i < seq.size(); ++i) {
    if (seq[i] == 'G' || p.atom_mask[i * 37 + 3] < 0.5f) continue;
    const auto cb = virtual_cb(atom_of(p, i, 0), atom_of(p, i, 1), atom_of(p, i, 2));
    CHECK(ca_distance(cb, atom_of(p, i, 3)) < 0.3);
    ++compared;
  }
  CHECK(compared > 80);
  // Gly has no Cβ in the file: beta_carbons gives the virtual one, ~1.5 Å from Cα (1.43-1.47 Å here:
  // the coefficients assume ideal N-Cα-C geometry).
  const auto cb = beta_carbons(p);
  const auto ca = alpha_carbons(p);
  for (size_t i = 0; i < seq.size(); ++i) {
    if (seq[i] == 'G') CHECK(ca_distance(cb[i], ca[i]) == doctest::Approx(1.5).epsilon(0.05));
  }

  // Burial separates the hydrophobic core from charged surface residues (a monomer of the dimer).
  const auto counts = neighbour_counts(cb);
  double hydrophobic = 0.0, charged = 0.0;
  int64_t n_hydrophobic = 0, n_charged = 0;
  for (size_t i = 0; i < seq.size(); ++i) {
    if (std::string_view("VILFM").find(seq[i]) != std::string_view::npos) {
      hydrophobic += static_cast<double>(counts[i]);
      ++n_hydrophobic;
    } else if (std::string_view("KRDE").find(seq[i]) != std::string_view::npos) {
      charged += static_cast<double>(counts[i]);
      ++n_charged;
    }
  }
  MESSAGE("mean Cβ neighbours: hydrophobic ", hydrophobic / n_hydrophobic, ", charged ", charged / n_charged);
  CHECK(hydrophobic / n_hydrophobic > charged / n_charged + 3.0);
  CHECK(exposure_from_neighbours(kExposedNeighbours) == 1.0);
  CHECK(exposure_from_neighbours(kBuriedNeighbours) == 0.0);
  CHECK(exposure_from_neighbours((kExposedNeighbours + kBuriedNeighbours) / 2) == doctest::Approx(0.5));
  CHECK_THROWS(analyse_wild_type(StructurePrediction{}, 3));
}

TEST_CASE("structure operators: disulfide designs obey the geometry, frozen and max_mutations") {
  const auto p = hiv_protease();
  const std::string seq = sequence_of(p);
  const WildTypeStructure wt = structure_of(p, seq.size());
  Campaign c = campaign_for(seq, 2);
  HypothesisSet out;
  propose_disulfides(c, wt, out);
  REQUIRE(!out.items().empty());
  MESSAGE(out.items().size(), " disulfide designs in HIV protease");
  for (const Hypothesis& h : out.items()) {
    REQUIRE(h.variant.substitutions.size() == 2u);
    const auto& a = h.variant.substitutions[0];
    const auto& b = h.variant.substitutions[1];
    CHECK(a.mutant == 'C');
    CHECK(b.mutant == 'C');
    CHECK(b.position - a.position >= 3);
    const auto i = static_cast<size_t>(a.position - 1), j = static_cast<size_t>(b.position - 1);
    const double d_cb = ca_distance(wt.cb[i], wt.cb[j]);
    CHECK(d_cb >= kDisulfideCbMin);
    CHECK(d_cb <= kDisulfideCbMax);
    CHECK(disulfide_ca_geometry(wt.ca[i], wt.ca[j]));
    CHECK(h.rationale.front().find("Cβ-Cβ") != std::string::npos);
  }
  // Freezing one residue of the first pair removes every design that uses it.
  const int64_t frozen = out.items().front().variant.substitutions.front().position;
  c.frozen = {frozen};
  HypothesisSet without;
  propose_disulfides(c, wt, without);
  CHECK(without.items().size() < out.items().size());
  for (const Hypothesis& h : without.items())
    for (const auto& s : h.variant.substitutions) CHECK(s.position != frozen);
  // Single mutants only, or nothing confident: no designs.
  HypothesisSet none;
  propose_disulfides(campaign_for(seq, 1), wt, none);
  propose_disulfides(c, structure_of(p, seq.size(), 50.0), none);
  CHECK(none.items().empty());
}

TEST_CASE("structure operators: surface hydrophobics to polar and surface-entropy reduction") {
  // The synthetic fixture family (for the family scores) on the geometry of HIV protease's first 42
  // residues: the rules read only the sequence and the geometry.
  const Campaign c = parse_campaign(R"({"name": "syn", "target": {"id": "SYN", "first_residue": 5,
    "sequence": "KDDSLNPRALDWKWMCMDSYPVIDMKQYGVDHSFQLMWTTMY", "msa": "synthetic.a2m"}, "frozen": [6],
    "max_mutations": 3, "evolution": {"model": "site_independent"}})",
                                    kfold::test::source_dir() / "tests/fixtures/agent/campaign.json");
  EvolutionOptions eo;
  eo.fit_potts = false;
  const EvolutionaryModels models = build_evolutionary_models(c, eo);
  const auto p = hiv_protease();
  const WildTypeStructure wt = structure_of(p, c.target.sequence.size());
  const std::string& seq = c.target.sequence;

  HypothesisSet polar;
  propose_surface_polar(c, models, wt, polar);
  REQUIRE(!polar.items().empty());
  std::map<int64_t, int> per_site;
  for (const Hypothesis& h : polar.items()) {
    REQUIRE(h.variant.substitutions.size() == 1u);
    const auto& s = h.variant.substitutions.front();
    const auto i = static_cast<size_t>(s.position - 5);
    CHECK(std::string_view("VILMFWY").find(seq[i]) != std::string_view::npos);
    CHECK(std::string_view("KEQRDNST").find(s.mutant) != std::string_view::npos);
    CHECK(wt.exposure[i] >= kSurfaceExposure);
    ++per_site[s.position];
  }
  for (const auto& [site, n] : per_site) CHECK(n == 2);
  // The two of best family score among the polar residues: no other polar residue scores higher.
  const auto& first = polar.items().front().variant.substitutions.front();
  const double second_score = models.site_independent_score(polar.items()[1].variant, 5);
  CHECK(models.site_independent_score(polar.items().front().variant, 5) >= second_score);
  for (const char aa : std::string_view("KEQRDNST")) {
    if (aa == first.mutant || aa == polar.items()[1].variant.substitutions.front().mutant) continue;
    Variant other;
    other.substitutions.push_back({first.position, first.wild_type, aa});
    CHECK(models.site_independent_score(other, 5) <= second_score);
  }

  HypothesisSet ser;
  propose_surface_entropy_reduction(c, wt, ser);
  int64_t singles = 0;
  for (const Hypothesis& h : ser.items()) {
    CHECK(has_operator(h, "surface_entropy_reduction"));
    CHECK(h.variant.substitutions.size() <= 3u);
    CHECK(h.variant.substitutions.back().position - h.variant.substitutions.front().position <= 4);
    for (const auto& s : h.variant.substitutions) {
      CHECK(s.mutant == 'A');
      CHECK(std::string_view("KEQ").find(s.wild_type) != std::string_view::npos);
      CHECK(s.position != 6);  // frozen
      CHECK(wt.exposure[static_cast<size_t>(s.position - 5)] >= kSurfaceExposure);
    }
    singles += h.variant.substitutions.size() == 1;
  }
  CHECK(singles > 0);
}

TEST_CASE("structure operators: helix Gly to Ala and N-cap on an ideal helix") {
  // Residues 1-10 extended, 11-24 an ideal α-helix, 25-30 extended; Gly at 12 (first turn) and 19.
  std::vector<std::array<double, 3>> ca;
  for (int k = 0; k < 10; ++k) ca.push_back({-40.0 + 3.3 * k, k % 2 ? 0.95 : -0.95, 0.0});
  const double pi = std::acos(-1.0);
  for (int k = 0; k < 14; ++k)
    ca.push_back({2.3 * std::cos(100.0 * pi / 180.0 * k), 2.3 * std::sin(100.0 * pi / 180.0 * k), 1.5 * k});
  for (int k = 0; k < 6; ++k) ca.push_back({10.0 + 3.3 * k, k % 2 ? 0.95 : -0.95, 40.0});
  StructurePrediction prediction;
  prediction.ca = ca;
  prediction.plddt.assign(ca.size(), 90.0);
  const std::string seq = "MKTAYIAKQRAGLEELKAGLAELKKAHTEV";
  REQUIRE(seq.size() == ca.size());
  const WildTypeStructure wt = analyse_wild_type(prediction, seq.size());
  REQUIRE(wt.helix[10]);
  REQUIRE(!wt.helix[9]);
  HypothesisSet out;
  propose_helix_rules(campaign_for(seq, 1), wt, out);
  std::set<std::string> proposed;
  for (const Hypothesis& h : out.items()) proposed.insert(format_variant(h.variant));
  CHECK(proposed.count("G19A") == 1);
  CHECK(proposed.count("G12A") == 0);  // first turn
  CHECK(proposed.count("R10S") == 1);  // N-cap of the helix from 11
  CHECK(proposed.count("R10T") == 1);
  CHECK(proposed.count("R10D") == 1);
}

TEST_CASE("solubility term: hydropathy weighted by exposure, net charge away from zero") {
  const std::string wt = "MKLLEA";  // net charge 0
  const auto v = [](const char* text) { return parse_variant(text, "test"); };
  CHECK(kyte_doolittle('I') == 4.5);
  CHECK(kyte_doolittle('R') == -4.5);
  CHECK(net_charge("KRDEH") == 0);
  // L3K: hydropathy (3.8 + 3.9) / 4.5 plus charge 0 -> +1 (0.1); without a structure a Leu counts a quarter
  // (mostly buried), a Lys fully.
  CHECK(solubility_score(v("L3K"), wt, 1, {}) == doctest::Approx(0.25 * 7.7 / 4.5 + 0.1));
  CHECK(solubility_score(v("K2L"), wt, 1, {}) == doctest::Approx(-7.7 / 4.5 + 0.1));  // |0 - 1| = 1 too
  CHECK(solubility_score(v("E5K"), wt, 1, {}) == doctest::Approx((-3.5 + 3.9) / 4.5 + 0.1 * 2));
  for (const char buried : std::string("IVLFCM")) CHECK(sequence_only_exposure(buried) == kBuriedByTypeExposure);
  for (const char other : std::string("AGSTNQDEKRHPWY")) CHECK(sequence_only_exposure(other) == 1.0);
  // Buried (exposure 0): only the charge term remains; half exposed: half the hydropathy.
  const std::vector<double> exposure = {1.0, 1.0, 0.0, 0.5, 1.0, 1.0};
  CHECK(solubility_score(v("L3K"), wt, 1, exposure) == doctest::Approx(0.1));
  CHECK(solubility_score(v("L4K"), wt, 1, exposure) == doctest::Approx(0.5 * 7.7 / 4.5 + 0.1));
  CHECK(solubility_score(v("L3K:L4K"), wt, 1, exposure) == doctest::Approx(0.5 * 7.7 / 4.5 + 0.2));
  CHECK(solubility_score(v("WT"), wt, 1, exposure) == 0.0);
}

TEST_CASE("exposure: residues of low pLDDT are exposed for the oxidation flag and the solubility term") {
  // 27 residues packed on a 3 x 3 x 3 grid 3 Å apart: every Cβ has >= 25 others within 10 Å, all
  // buried; residue 14 (the centre) is predicted with pLDDT 40, the rest 90.
  StructurePrediction p;
  for (int x = 0; x < 3; ++x)
    for (int y = 0; y < 3; ++y)
      for (int z = 0; z < 3; ++z) p.ca.push_back({3.0 * x, 3.0 * y, 3.0 * z});
  p.plddt.assign(27, 90.0);
  p.plddt[13] = 40.0;
  const WildTypeStructure w = analyse_wild_type(p, 27);
  REQUIRE(w.neighbours[13] >= kBuriedNeighbours);
  CHECK(w.exposure[0] == 0.0);   // confident and buried
  CHECK(w.exposure[13] == 1.0);  // buried by its neighbour count, but its placement is a guess: exposed
  const std::string wt(27, 'L');
  LiabilityContext c;
  c.wild_type = wt;
  c.plddt = w.plddt;
  c.exposure = w.exposure;
  CHECK(liability_flags(parse_variant("L1M", "t"), c).empty());  // buried Met: shielded
  const auto flags = liability_flags(parse_variant("L14M", "t"), c);
  REQUIRE(flags.size() == 1u);
  CHECK(flags[0].name == "new_oxidation");
  CHECK(flags[0].detail == "M14 (pLDDT 40: taken as exposed)");
  // Solubility: the low-confidence residue counts as exposed (exposure 1, as a disordered region is), the buried
  // one not.
  const Variant to_lys = parse_variant("L14K", "t");
  CHECK(solubility_score(to_lys, wt, 1, w.exposure) == doctest::Approx(7.7 / 4.5 + 0.1));
  CHECK(solubility_score(parse_variant("L1K", "t"), wt, 1, w.exposure) == doctest::Approx(0.1));
}
