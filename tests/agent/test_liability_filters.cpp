// Liability flags: Cys, N-glycosylation sequons, deamidation and isomerisation motifs, Pro, invariant
// positions; only new motifs count.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "pipelines/agent/liability_filters.hpp"
#include "pipelines/agent/wild_type_structure.hpp"

using namespace kfold::pipelines::agent;

namespace {

std::string flags_of(const char* variant, const std::string& wt, std::vector<double> conservation = {},
                     std::vector<bool> helix = {}) {
  LiabilityContext c;
  c.wild_type = wt;
  c.wild_type_conservation = std::move(conservation);
  c.helix = std::move(helix);
  return format_flags(liability_flags(parse_variant(variant, "t"), c));
}

}  // namespace

TEST_CASE("liability flags") {
  const std::string wt = "MKAGSLTVAQ";  // no N-X-S/T, NG, NS or DG
  CHECK(flags_of("K2R", wt).empty());
  CHECK(flags_of("K2C", wt) == "new_unpaired_cys");
  CHECK(flags_of("A3N", wt) == "new_n_glycosylation;new_deamidation");              // N3-G4-S5: sequon and NG
  CHECK(flags_of("G4N", wt) == "new_deamidation");                                  // N4-S5; N-S-L is no sequon
  CHECK(flags_of("S5N", wt) == "new_n_glycosylation");                              // N5-L6-T7
  CHECK(flags_of("S5N:L6P", wt).find("new_n_glycosylation") == std::string::npos);  // N-P-T is no sequon
  CHECK(flags_of("A3D", wt) == "new_isomerization");                                // D3-G4
  CHECK(flags_of("V8P", wt) == "pro_introduced");
  // Met 1 is the initiator: a substitution there expresses nothing (hard), when the numbering starts
  // at 1; a mature protein numbered from elsewhere, or one not starting with Met, has no such rule.
  CHECK(flags_of("M1L", wt) == "initiator_met");
  CHECK(flags_of("M1L:K2R", wt) == "initiator_met");
  CHECK(flags_of("A1L", "AKAGSLTVAQ").empty());
  {
    LiabilityContext mature;
    mature.wild_type = wt;
    mature.first_residue = 24;
    CHECK(liability_flags(parse_variant("M24L", "t"), mature).empty());
  }
  CHECK(flags_of("V8P", wt, {}, std::vector<bool>(10, true)) == "pro_in_helix");
  std::vector<double> cons(10, 0.5);
  cons[1] = 0.99;
  cons[2] = std::nan("");
  CHECK(flags_of("K2R", wt, cons) == "invariant_position");
  CHECK(flags_of("A3R", wt, cons).empty());
}

TEST_CASE("liability flags: existing motifs are not new, hard and soft") {
  const std::string wt = "MNGSTQ";  // has NG (deamidation) and N-G-S (sequon) already
  CHECK(flags_of("Q6A", wt).empty());
  LiabilityContext c;
  c.wild_type = wt;
  auto flags = liability_flags(parse_variant("Q6P", "t"), c);
  REQUIRE(flags.size() == 1u);
  CHECK_FALSE(has_hard_flag(flags));  // Pro without structure is soft
  flags = liability_flags(parse_variant("Q6C", "t"), c);
  CHECK(has_hard_flag(flags));
  CHECK(flags[0].detail == "C6");
}

TEST_CASE("liability flags: an introduced Met or Trp on the surface is a soft oxidation liability") {
  const std::string wt = "MKAGSLTVAQ";
  CHECK(flags_of("K2M", wt) == "new_oxidation");  // without structure: anywhere
  CHECK(flags_of("V8W:K2R", wt) == "new_oxidation");
  CHECK(flags_of("V8F", wt).empty());
  LiabilityContext c;
  c.wild_type = wt;
  c.exposure = std::vector<double>(10, 1.0);
  c.exposure[7] = 0.2;  // V8 buried: shielded from solvent oxidants
  auto flags = liability_flags(parse_variant("K2M:V8W", "t"), c);
  REQUIRE(flags.size() == 1u);
  CHECK(flags[0].name == "new_oxidation");
  CHECK_FALSE(flags[0].hard);
  CHECK(flags[0].detail == "M2 (exposure 1.00)");
  CHECK(liability_flags(parse_variant("V8M", "t"), c).empty());
  c.exposure[7] = kOxidationExposure;  // the threshold counts as exposed
  CHECK(liability_flags(parse_variant("V8M", "t"), c).size() == 1u);
}

namespace {

using Trace = std::vector<std::array<double, 3>>;

// An ideal α-helix: radius 2.3 Å, rise 1.5 Å and 100° per residue, starting at `origin`.
void append_helix(Trace& ca, int64_t n, std::array<double, 3> origin) {
  const double pi = std::acos(-1.0);
  for (int64_t k = 0; k < n; ++k) {
    const double angle = 100.0 * pi / 180.0 * static_cast<double>(k);
    ca.push_back({origin[0] + 2.3 * std::cos(angle), origin[1] + 2.3 * std::sin(angle), origin[2] + 1.5 * k});
  }
}

// A β-strand: 3.3 Å per residue along x, zig-zag of ±0.95 Å (Cα-Cα 3.8 Å).
void append_strand(Trace& ca, int64_t n, std::array<double, 3> origin) {
  for (int64_t k = 0; k < n; ++k)
    ca.push_back({origin[0] + 3.3 * static_cast<double>(k), origin[1] + (k % 2 ? 0.95 : -0.95), origin[2]});
}

}  // namespace

TEST_CASE("helix_from_ca: an ideal helix between two strands, confident residues only") {
  Trace ca;
  append_strand(ca, 10, {-40, 0, 0});
  append_helix(ca, 15, {0, 0, 0});
  append_strand(ca, 10, {20, 20, 30});
  std::vector<double> plddt(ca.size(), 90.0);
  const auto helix = helix_from_ca(ca, plddt);
  for (size_t k = 0; k < ca.size(); ++k) {
    CAPTURE(k);
    CHECK(helix[k] == (k >= 10 && k < 25));
  }
  const auto interior = helix_interior(helix);
  CHECK_FALSE(interior[12]);  // the first turn (residues 10-12)
  CHECK(interior[13]);
  CHECK(interior[24]);
  // Low confidence in the middle of the helix (residues 15-19): only the confident five-residue
  // pieces on either side (10-14, 20-24) remain.
  for (size_t k = 15; k < 20; ++k) plddt[k] = 50.0;
  const auto partial = helix_from_ca(ca, plddt);
  for (size_t k = 0; k < ca.size(); ++k) CHECK(partial[k] == ((k >= 10 && k < 15) || (k >= 20 && k < 25)));
  plddt[12] = 50.0;  // and then 10-14 is no longer a whole window
  const auto shorter = helix_from_ca(ca, plddt);
  CHECK(std::count(shorter.begin(), shorter.end(), true) == 5);
}

TEST_CASE("liability flags with the predicted wild type: Pro past a helix's first turn, Cys pairing") {
  // 30 residues: a helix (residues 1-15), then a strand (16-30). Wild-type Cys at 20 and 28.
  Trace ca;
  append_helix(ca, 15, {0, 0, 0});
  append_strand(ca, 15, {10, 0, 0});
  std::string wt(30, 'A');
  wt[19] = 'C';
  wt[27] = 'C';
  LiabilityContext c;
  c.wild_type = wt;
  c.ca = ca;
  c.plddt = std::vector<double>(30, 90.0);
  c.helix = helix_from_ca(ca, c.plddt);
  const auto flags_for = [&](const char* v) { return format_flags(liability_flags(parse_variant(v, "t"), c)); };
  CHECK(flags_for("A8P") == "pro_in_helix");    // helix interior: hard
  CHECK(flags_for("A2P") == "pro_introduced");  // first turn (N1-N3): soft
  CHECK(flags_for("A22P") == "pro_introduced");
  // Residue 22 (strand) is 2 x 3.3 = 6.6 Å from Cys 20, 19.8 Å from Cys 28: a disulfide candidate (soft).
  auto flags = liability_flags(parse_variant("A22C", "t"), c);
  REQUIRE(flags.size() == 1u);
  CHECK(flags[0].name == "new_disulfide_candidate");
  CHECK_FALSE(flags[0].hard);
  CHECK(flags[0].detail == "C22-C20 (6.6 A)");
  // Residue 5 (helix) is far from both: unpaired (hard).
  CHECK(flags_for("A5C") == "new_unpaired_cys");
  // Two new Cys at disulfide distance pair with each other (helix residues i, i+3: 5.0 Å).
  CHECK(flags_for("A4C:A7C") == "new_disulfide_candidate");
  // A wild-type Cys already bonded is no partner: put Cys 28 at 6 Å from Cys 20 (it is 26.4 Å away in
  // this trace) by moving it, then 22 pairs with nobody free.
  c.ca[27] = {c.ca[19][0], c.ca[19][1] + 6.0, c.ca[19][2]};
  CHECK(flags_for("A22C") == "new_unpaired_cys");
  // Replacing either Cys of that pair breaks a likely disulfide and leaves the other unpaired (soft); both
  // together, one entry; a Cys with no partner (Cys 28 back in place) is replaced without a flag.
  flags = liability_flags(parse_variant("C28S", "t"), c);
  REQUIRE(flags.size() == 1u);
  CHECK(flags[0].name == "breaks_disulfide");
  CHECK_FALSE(flags[0].hard);
  CHECK(flags[0].detail == "C20-C28 (6.0 A), C20 left unpaired");
  CHECK(liability_flags(parse_variant("C20A:C28A", "t"), c)[0].detail == "C20-C28 (6.0 A)");
  c.plddt[27] = 40.0;  // an unconfident partner: no likely bond
  CHECK(flags_for("C20S").empty());
  c.plddt[27] = 90.0;
  c.ca[27] = ca[27];
  CHECK(flags_for("C20S").empty());
  CHECK(flags_for("C28S").empty());
  // An unconfident site is never paired.
  c.ca[27] = ca[27];
  c.plddt[21] = 40.0;
  CHECK(flags_for("A22C") == "new_unpaired_cys");
}
