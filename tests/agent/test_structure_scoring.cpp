// How structure terms join a score table (add_structure_terms): fixed scales with a dead zone, the
// stability weight (none for an objective without stability), the confidence of the predictions, the
// centring on the predicted shortlist, the units of a surrogate's total and the acquisition that ranks
// the plate; hand-built tables with known answers.
#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "pipelines/agent/scoring.hpp"

using namespace kfold::pipelines::agent;

namespace {

struct Table {
  std::vector<Hypothesis> hypotheses;
  ScoreTable table;

  explicit Table(const std::vector<double>& totals) {
    hypotheses.reserve(totals.size());
    for (size_t k = 0; k < totals.size(); ++k) {
      Hypothesis h;
      h.id = "H" + std::to_string(k + 1);
      h.variant = parse_variant("A" + std::to_string(k + 2) + "G", "test");
      hypotheses.push_back(h);
      ScoredVariant r;
      r.total = totals[k];
      table.rows.push_back(r);
    }
    for (size_t k = 0; k < totals.size(); ++k) table.rows[k].hypothesis = &hypotheses[k];
    table.structure_weight = 1.0;
  }
};

StructureTerms terms(double delta_plddt, double drmsd, double delta_ptm, int64_t lost_contacts,
                     int64_t gained_contacts = 0) {
  StructureTerms t;
  t.delta_plddt_site = delta_plddt;
  t.ca_drmsd = drmsd;
  t.delta_ptm = delta_ptm;
  t.lost_contacts = lost_contacts;
  t.gained_contacts = gained_contacts;
  return t;
}

}  // namespace

TEST_CASE("structure terms: fixed scales after a dead zone, not z-scores over the predicted few") {
  // Within the dead zone (|dpLDDT| 1, dRMSD 0.1 A, |dpTM| 0.005, no contact lost): nothing, however the
  // few predicted variants differ among themselves (z-scores over them made +-1 of such noise).
  CHECK(structure_score(terms(0.3, 0.0009, 0.001, 0)) == 0.0);
  CHECK(structure_score(terms(-0.28, 0.000998, -0.004, 0)) == 0.0);
  // Beyond it, one scale (5 pLDDT, 0.5 A, 0.02, 3 contacts after 1) counts 1: (-2 - 2 - 1 - 5/3) / 4.
  CHECK(structure_score(terms(-11.0, 1.1, -0.025, 6)) == doctest::Approx(-5.0 / 3.0));
  CHECK(structure_score(terms(6.0, 0.0, 0.0, 0)) == doctest::Approx(0.25));  // a gain counts too
  // No pTM head: the term is left out of the mean.
  CHECK(structure_score(terms(-6.0, 0.6, std::nan(""), 0)) == doctest::Approx((-1.0 - 1.0 + 0.0) / 3.0));
  // Binding: -(interface dPAE beyond 0.25 A) / 1 A; without a PAE head -lost interface contacts / 2.
  StructureTerms binding = terms(0, 0, 0, 0);
  CHECK(std::isnan(binding_score(binding)));
  binding.binding = true;
  binding.delta_interface_pae = 3.25;
  CHECK(binding_score(binding) == doctest::Approx(-3.0));
  binding.delta_interface_pae = std::nan("");
  binding.lost_interface_contacts = 4;
  CHECK(binding_score(binding) == doctest::Approx(-2.0));

  Table t({1.0, 0.5, 0.0});
  t.table.structure_weight = 2.0;
  std::vector<std::optional<StructureTerms>> predicted(3);
  predicted[0] = terms(0.3, 0.0009, 0.001, 0);  // noise: unchanged
  predicted[1] = terms(-11.0, 1.1, -0.025, 6);  // destabilising: 2 x -5/3
  add_structure_terms(t.table, predicted);
  // Centred on the mean of the two (-5/3): the noise-only variant gains what the destabilised one loses.
  CHECK(t.table.rows[0].total == doctest::Approx(1.0 + 5.0 / 3.0));
  CHECK(t.table.rows[1].total == doctest::Approx(0.5 - 5.0 / 3.0));
  CHECK(t.table.rows[1].structure_adjustment == doctest::Approx(-5.0 / 3.0));
  CHECK(t.table.rows[2].total == 0.0);  // not predicted
  CHECK(!t.table.rows[2].structure);
  CHECK(t.table.rows[1].rationale.find("-1.67 to the total: -3.33 less the shortlist's mean -1.67") !=
        std::string::npos);
}

TEST_CASE("structure terms: an objective without stability reports them and weighs them 0") {
  Table t({1.0, 0.5});
  t.table.structure_weight = 0.0;  // e.g. {"solubility": 1}
  std::vector<std::optional<StructureTerms>> predicted(2);
  predicted[0] = terms(-20.0, 3.0, -0.1, 10);
  StructureTerms clash = terms(0, 0, 0, 0);
  clash.new_violations = 2;
  predicted[1] = clash;
  add_structure_terms(t.table, predicted);
  CHECK(t.table.rows[0].total == 1.0);
  CHECK(t.table.rows[0].structure_adjustment == 0.0);
  CHECK(t.table.rows[0].rationale.find("the objective weighs no stability") != std::string::npos);
  REQUIRE(t.table.rows[1].flags.size() == 1u);
  CHECK(t.table.rows[1].flags[0].name == "structural_violations");  // flags are independent of the weights
}

TEST_CASE("structure terms: with a surrogate they are in its units and move the acquisition that ranks") {
  Table t({0.0, 1.0, 2.0});
  for (size_t k = 0; k < 3; ++k) {
    auto& r = t.table.rows[k];
    r.surrogate_mean = 4.0 * r.total;  // measurement units: 0, 4, 8 (sd 4 over the candidates)
    r.total = r.surrogate_mean;
    r.surrogate_sd = 0.5;
    r.acquisition = r.surrogate_mean + r.surrogate_sd;
  }
  t.table.surrogate = SurrogateSummary{};
  t.table.member_predictions = {{0.0, 4.0, 8.0}, {1.0, 5.0, 9.0}};
  std::vector<std::optional<StructureTerms>> predicted(3);
  predicted[1] = terms(0.0, 0.0, 0.0, 0);       // 0 scale units
  predicted[2] = terms(-11.0, 1.1, -0.025, 6);  // -5/3 scale units; the surrogate means' sd is 4
  add_structure_terms(t.table, predicted);
  const auto& r = t.table.rows[2];
  const double shift = -4.0 * 5.0 / 3.0 / 2.0;  // the shortlist's mean taken off
  CHECK(r.structure_adjustment == doctest::Approx(shift));
  CHECK(t.table.rows[1].structure_adjustment == doctest::Approx(-shift));
  CHECK(r.total == doctest::Approx(8.0 + shift));
  CHECK(r.acquisition == doctest::Approx(8.5 + shift));  // the plate's exploit key
  CHECK(t.table.member_predictions[0][2] == doctest::Approx(8.0 + shift));
  CHECK(t.table.member_predictions[1][2] == doctest::Approx(9.0 + shift));
  CHECK(r.surrogate_mean == 8.0);  // the surrogate's own prediction stays in its column
  // The variant that led by the surrogate is no longer the best by the acquisition.
  CHECK(r.acquisition < t.table.rows[1].acquisition);
}

TEST_CASE("structure terms: predicting a variant is no penalty in expectation") {
  // The review's case: every prediction of the shortlist differs from the wild type's by the model's
  // noise (a Cα dRMSD is never negative, contacts flicker at the cutoff). Without centring each one lost
  // -0.25..-0.79 against the variants nobody predicted and none reached the plate.
  Table t({0.0, 0.0, 0.0, 0.0, 0.0});
  std::vector<std::optional<StructureTerms>> predicted(5);
  predicted[0] = terms(0.03, 6.6, std::nan(""), 1, 0);
  predicted[1] = terms(0.2, 4.1, std::nan(""), 1, 2);
  predicted[2] = terms(-0.02, 2.5, std::nan(""), 5, 3);
  predicted[3] = terms(0.05, 1.7, std::nan(""), 5, 4);
  add_structure_terms(t.table, predicted);
  double sum = 0.0;
  int positive = 0;
  for (size_t k = 0; k < 4; ++k) {
    sum += t.table.rows[k].structure_adjustment;
    positive += t.table.rows[k].structure_adjustment > 0.0;
  }
  CHECK(sum == doctest::Approx(0.0).epsilon(1e-12));  // the shortlist's mean: what a variant not predicted gets
  CHECK(positive >= 1);
  CHECK(t.table.rows[4].structure_adjustment == 0.0);
  CHECK(t.table.rows[4].total == 0.0);
  // The order among the predicted stays: the smallest dRMSD gains most.
  CHECK(t.table.rows[3].structure_adjustment > t.table.rows[0].structure_adjustment);
  // One predicted variant alone has nothing to be compared with: 0.
  Table one({0.0, 0.0});
  std::vector<std::optional<StructureTerms>> alone(2);
  alone[0] = terms(-11.0, 1.1, -0.025, 6);
  add_structure_terms(one.table, alone);
  CHECK(one.table.rows[0].structure_adjustment == 0.0);
}

TEST_CASE("structure terms: contacts gained count against contacts lost") {
  // The net change: 4 lost and 4 gained is a rearrangement, not a loss (it counted -4/3 before).
  CHECK(structure_score(terms(0.0, 0.0, 0.0, 4, 4)) == 0.0);
  CHECK(structure_score(terms(0.0, 0.0, 0.0, 1, 0)) == 0.0);  // one contact: inside the dead zone
  CHECK(structure_score(terms(0.0, 0.0, 0.0, 0, 7)) == doctest::Approx(2.0 / 4.0));
  CHECK(structure_score(terms(0.0, 0.0, 0.0, 7, 0)) == doctest::Approx(-2.0 / 4.0));
}

TEST_CASE("structure terms: weighed by the predictions' confidence") {
  StructureTerms t = terms(-11.0, 1.1, -0.025, 6);
  CHECK(structure_confidence(t) == 1.0);  // no pLDDT given
  t.wild_type_plddt = 30.0;
  t.mutant_plddt = 35.0;
  CHECK(structure_confidence(t) == 0.0);
  t.wild_type_plddt = 50.0;
  CHECK(structure_confidence(t) == doctest::Approx(0.25));  // below ~50 the terms count little
  t.wild_type_plddt = 90.0;  // a confident wild type: the mutant's low pLDDT is the evidence
  CHECK(structure_confidence(t) == 1.0);

  // Two rows, the same raw terms against a neutral one, at pLDDT 90 and 50: the confident comparison
  // moves its total four times as far.
  for (const double plddt : {90.0, 50.0}) {
    Table table({0.0, 0.0});
    std::vector<std::optional<StructureTerms>> predicted(2);
    predicted[0] = terms(0.0, 0.0, 0.0, 0);
    predicted[1] = terms(-11.0, 1.1, -0.025, 6);
    for (auto& p : predicted) p->wild_type_plddt = p->mutant_plddt = plddt;
    add_structure_terms(table.table, predicted);
    const double expected = -5.0 / 3.0 / 2.0 * (plddt > 80.0 ? 1.0 : 0.25);
    CHECK(table.table.rows[1].structure_adjustment == doctest::Approx(expected));
  }
}
