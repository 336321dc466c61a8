// Construct-boundary proposals from pLDDT and PAE on synthetic predictions with known answers, and the
// plate wells they take.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "pipelines/agent/construct_boundaries.hpp"
#include "pipelines/agent/plate_layout.hpp"

using namespace kfold::pipelines::agent;

namespace {

Campaign campaign_of_length(int64_t n, int64_t first_residue = 1) {
  Campaign c;
  c.target.sequence.assign(static_cast<size_t>(n), 'A');
  c.target.first_residue = first_residue;
  return c;
}

// pLDDT 30 on [0, n_tail), 90 in the middle, 30 on the last c_tail residues.
StructurePrediction with_tails(int64_t n, int64_t n_tail, int64_t c_tail) {
  StructurePrediction p;
  for (int64_t i = 0; i < n; ++i) p.plddt.push_back(i < n_tail || i >= n - c_tail ? 30.0 : 90.0);
  return p;
}

// PAE 3 Å within each block of `bounds` (block k: [bounds[k], bounds[k+1])), 25 Å between blocks.
std::vector<double> block_pae(const std::vector<int64_t>& bounds) {
  const int64_t n = bounds.back();
  std::vector<double> pae(static_cast<size_t>(n * n));
  const auto block = [&](int64_t i) {
    size_t b = 0;
    while (i >= bounds[b + 1]) ++b;
    return b;
  };
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      pae[static_cast<size_t>(i * n + j)] = i == j ? 0.5 : block(i) == block(j) ? 3.0 : 25.0;
  return pae;
}

std::vector<std::string> ranges(const std::vector<Construct>& cs) {
  std::vector<std::string> out;
  for (const auto& c : cs) out.push_back(c.operator_name + " " + format_construct(c));
  return out;
}

}  // namespace

TEST_CASE("constructs: disordered termini are trimmed, frozen residues kept") {
  const Campaign c = campaign_of_length(100);
  const auto both = propose_constructs(c, with_tails(100, 10, 8));
  CHECK(ranges(both) == std::vector<std::string>{"trim_termini construct 11-92", "trim_termini construct 11-100",
                                                 "trim_termini construct 1-92"});
  CHECK(both[0].id == "C01");
  CHECK(both[2].id == "C03");
  CHECK(both[0].wild_type_plddt == doctest::Approx(90.0));
  CHECK(both[0].rationale[0] == "N-terminal residues 1-10 disordered (mean pLDDT 30)");
  CHECK(both[0].rationale[1] == "C-terminal residues 93-100 disordered (mean pLDDT 30)");
  CHECK(construct_sequence(both[0], c).size() == 82u);

  // Numbering from 101; residue 105 frozen: the N-terminal trim stops before it; 2 residues is too short.
  Campaign numbered = campaign_of_length(100, 101);
  numbered.frozen = {105};
  CHECK(ranges(propose_constructs(numbered, with_tails(100, 10, 2))) ==
        std::vector<std::string>{"trim_termini construct 105-200"});
  // A short ordered blip inside a tail does not start the core (it needs 5 residues in a row).
  StructurePrediction blip = with_tails(100, 10, 0);
  blip.plddt[3] = blip.plddt[4] = blip.plddt[5] = 80.0;
  CHECK(ranges(propose_constructs(c, blip)) == std::vector<std::string>{"trim_termini construct 11-100"});
  // Nothing ordered, or nothing to trim: no proposal.
  CHECK(propose_constructs(c, with_tails(100, 100, 0)).empty());
  CHECK(propose_constructs(c, with_tails(100, 0, 0)).empty());
  CHECK_THROWS(propose_constructs(c, with_tails(99, 0, 0)));
}

TEST_CASE("constructs: domains split where the PAE says they move independently") {
  const Campaign c = campaign_of_length(120);
  StructurePrediction p = with_tails(120, 0, 0);
  p.pae = block_pae({0, 50, 120});
  CHECK(ranges(propose_constructs(c, p)) ==
        std::vector<std::string>{"domain_split construct 1-50", "domain_split construct 51-120"});
  const auto two = propose_constructs(c, p);
  CHECK(two[0].rationale[1] == "PAE between 1-50 and 51-120: mean 25.0 Å; within them 3.0 and 3.0 Å");

  // Three domains (1-40, 41-98, 99-150), a disordered linker 97-100 trimmed from both neighbours and a
  // disordered N-terminal tail.
  const Campaign c3 = campaign_of_length(150);
  StructurePrediction p3 = with_tails(150, 6, 0);
  for (int64_t i = 96; i < 100; ++i) p3.plddt[static_cast<size_t>(i)] = 35.0;
  p3.pae = block_pae({0, 40, 98, 150});
  CHECK(ranges(propose_constructs(c3, p3)) ==
        std::vector<std::string>{"domain_split construct 7-40", "domain_split construct 41-96",
                                 "domain_split construct 101-150", "trim_termini construct 7-150"});
  // Met1 frozen (the shipped campaign's habit) and a 25-residue disordered tail: Met1 does not stop the
  // trim nor join the first domain (before, the tail merged into domain 1 and the split was refused).
  Campaign met = campaign_of_length(150);
  met.target.sequence[0] = 'M';
  met.frozen = {1};
  StructurePrediction tail = with_tails(150, 25, 0);
  tail.pae = block_pae({0, 80, 150});
  CHECK(ranges(propose_constructs(met, tail)) == std::vector<std::string>{"domain_split construct 26-80",
                                                                          "domain_split construct 81-150",
                                                                          "trim_termini construct 26-150"});
  // A frozen Met that is not residue 1 (a fragment numbered from 101) is no initiator: kept.
  Campaign fragment = met;
  fragment.target.first_residue = 101;
  fragment.frozen = {101};
  CHECK(ranges(propose_constructs(fragment, tail)) ==
        std::vector<std::string>{"domain_split construct 101-180", "domain_split construct 181-250"});
  // Another frozen residue in the tail is kept: the first domain and the trim start there.
  met.frozen = {1, 20};
  CHECK(ranges(propose_constructs(met, tail)) == std::vector<std::string>{"domain_split construct 20-80",
                                                                          "domain_split construct 81-150",
                                                                          "trim_termini construct 20-150"});
  // A helix across the PAE boundary (residues 41-60 of 1-120 split at 50): the cut moves to its end, not
  // through it. Cα trace: strand, ideal helix, strand.
  {
    StructurePrediction h = with_tails(120, 0, 0);
    h.pae = block_pae({0, 50, 120});
    const double pi = std::acos(-1.0);
    for (int64_t i = 0; i < 120; ++i) {
      const bool in_helix = i >= 40 && i < 60;
      const double angle = 100.0 * pi / 180.0 * static_cast<double>(i);
      h.ca.push_back(in_helix ? std::array<double, 3>{2.3 * std::cos(angle), 2.3 * std::sin(angle), 1.5 * i}
                              : std::array<double, 3>{3.3 * i, i % 2 ? 0.95 : -0.95, i < 40 ? -50.0 : 50.0});
    }
    const auto cut = propose_constructs(c, h);
    REQUIRE(cut.size() == 2u);
    CHECK((cut[0].last == 40 || cut[0].last == 60));
    CHECK(cut[1].first == cut[0].last + 1);
  }
  // Parts under 30 residues stay whole; a uniform PAE does not split; max_domains caps the splits.
  p.pae = block_pae({0, 20, 120});
  CHECK(propose_constructs(c, p).empty());
  p.pae.assign(120 * 120, 4.0);
  CHECK(propose_constructs(c, p).empty());
  ConstructOptions two_at_most;
  two_at_most.max_domains = 2;
  // Two parts, one of them still two domains (mean PAE ~14 Å within): no domain constructs, the trim only.
  CHECK(ranges(propose_constructs(c3, p3, two_at_most)) == std::vector<std::string>{"trim_termini construct 7-150"});
}

TEST_CASE("constructs: they take up to plate.constructs wells, named on the plate") {
  Campaign c = campaign_of_length(60);
  c.plate.size = 24;
  c.plate.controls = 2;
  c.plate.blanks = 0;
  c.plate.constructs = 2;
  std::vector<Hypothesis> hypotheses;
  for (int64_t k = 1; k <= 30; ++k) {
    Hypothesis h;
    h.id = "H" + std::to_string(k);
    h.variant.substitutions.push_back({k, 'A', 'G'});
    hypotheses.push_back(h);
  }
  ScoreTable table;
  for (const Hypothesis& h : hypotheses) {
    ScoredVariant r;
    r.hypothesis = &h;
    r.total = -static_cast<double>(h.variant.substitutions[0].position);
    r.sd = 0.1;
    table.rows.push_back(r);
  }
  const Plate without = select_plate(table, c, 1);
  CHECK(without.n_constructs == 0);
  CHECK(without.n_variants == 22);
  table.constructs = propose_constructs(c, with_tails(60, 8, 8));
  REQUIRE(table.constructs.size() == 3u);
  const Plate plate = select_plate(table, c, 1);
  CHECK(plate.n_constructs == 2);
  CHECK(plate.n_variants == 20);
  CHECK(plate.wells.size() == 24u);
  std::vector<int64_t> placed;
  for (const PlateWell& w : plate.wells) {
    if (w.pick == "construct") {
      CHECK(w.row == -1);
      placed.push_back(w.construct);
    } else {
      CHECK(w.construct == -1);
    }
  }
  std::sort(placed.begin(), placed.end());
  CHECK(placed == std::vector<int64_t>{0, 1});  // in proposal order

  // Two domains and both termini trimmed: the two domains take the two wells (they were proposed after
  // three trims, so domain 2 never reached the plate).
  c.target.sequence.assign(120, 'A');
  StructurePrediction two_domains = with_tails(120, 8, 8);
  two_domains.pae = block_pae({0, 60, 120});
  table.constructs = propose_constructs(c, two_domains);
  REQUIRE(table.constructs.size() == 5u);
  std::vector<std::string> on_plate;
  for (const PlateWell& w : select_plate(table, c, 1).wells)
    if (w.pick == "construct") on_plate.push_back(table.constructs[static_cast<size_t>(w.construct)].operator_name);
  CHECK(on_plate == std::vector<std::string>{"domain_split", "domain_split"});
}
