// How structure terms join a score table (add_structure_terms): fixed scales with a dead zone, the
// stability weight (none for an objective without stability), the units of a surrogate's total and
// the acquisition that ranks the plate; hand-built tables with known answers.
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

StructureTerms terms(double delta_plddt, double drmsd, double delta_ptm, int64_t lost_contacts) {
  StructureTerms t;
  t.delta_plddt_site = delta_plddt;
  t.ca_drmsd = drmsd;
  t.delta_ptm = delta_ptm;
  t.lost_contacts = lost_contacts;
  return t;
}

}  // namespace

TEST_CASE("structure terms: fixed scales after a dead zone, not z-scores over the predicted few") {
  // Within the dead zone (|dpLDDT| 1, dRMSD 0.1 A, |dpTM| 0.005, no contact lost): nothing, however the
  // few predicted variants differ among themselves (z-scores over them made +-1 of such noise).
  CHECK(structure_score(terms(0.3, 0.0009, 0.001, 0)) == 0.0);
  CHECK(structure_score(terms(-0.28, 0.000998, -0.004, 0)) == 0.0);
  // Beyond it, one scale (5 pLDDT, 0.5 A, 0.02, 3 contacts) counts 1: (-2 - 2 - 1 - 2) / 4.
  CHECK(structure_score(terms(-11.0, 1.1, -0.025, 6)) == doctest::Approx(-1.75));
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
  predicted[1] = terms(-11.0, 1.1, -0.025, 6);  // destabilising: 2 x -1.75
  add_structure_terms(t.table, predicted);
  CHECK(t.table.rows[0].total == 1.0);
  CHECK(t.table.rows[1].total == doctest::Approx(0.5 - 3.5));
  CHECK(t.table.rows[1].structure_adjustment == doctest::Approx(-3.5));
  CHECK(t.table.rows[2].total == 0.0);  // not predicted
  CHECK(!t.table.rows[2].structure);
  CHECK(t.table.rows[1].rationale.find("-3.50 to the total") != std::string::npos);
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
  predicted[2] = terms(-11.0, 1.1, -0.025, 6);  // -1.75 scale units; the surrogate means' sd is 4
  add_structure_terms(t.table, predicted);
  const auto& r = t.table.rows[2];
  CHECK(r.structure_adjustment == doctest::Approx(-7.0));
  CHECK(r.total == doctest::Approx(8.0 - 7.0));
  CHECK(r.acquisition == doctest::Approx(8.5 - 7.0));  // the plate's exploit key
  CHECK(t.table.member_predictions[0][2] == doctest::Approx(1.0));
  CHECK(t.table.member_predictions[1][2] == doctest::Approx(2.0));
  CHECK(r.surrogate_mean == 8.0);  // the surrogate's own prediction stays in its column
  // The variant that led by the surrogate is no longer the best by the acquisition.
  CHECK(r.acquisition < t.table.rows[1].acquisition);
}
