// Liability flags: Cys, N-glycosylation sequons, deamidation and isomerisation motifs, Pro, invariant
// positions; only new motifs count.
#include <doctest/doctest.h>

#include <cmath>

#include "pipelines/agent/liability_filters.hpp"

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
