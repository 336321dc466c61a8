// Site and residue terms of the evolutionary scores (site_decomposition.hpp) on the synthetic fixture
// family: the site term is the mean over the 19 substitutions at the residue, the two terms add up to
// each model's score (couplings included for a double mutant), and the explore key ranks by the
// residue term.
#include <doctest/doctest.h>

#include <cmath>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "pipelines/agent/evolutionary_models.hpp"
#include "pipelines/agent/site_decomposition.hpp"
#include "test_support.hpp"

using namespace kfold::pipelines::agent;

TEST_CASE("site decomposition: site means of the 19 singles, terms that add up to each score") {
  const std::string sequence = "KDDSLNPRALDWKWMCMDSYPVIDMKQYGVDHSFQLMWTTMY";
  const Campaign c =
      parse_campaign(R"({"name": "syn", "target": {"id": "SYN", "first_residue": 5, "sequence": ")" + sequence +
                         R"(", "msa": "synthetic.a2m"}, "evolution": {"model": "potts", "potts_iterations": 10}})",
                     kfold::test::source_dir() / "tests/fixtures/agent/campaign.json");
  EvolutionOptions eo;
  eo.threads = 2;
  const EvolutionaryModels models = build_evolutionary_models(c, eo);
  REQUIRE(models.potts);
  const SiteDecomposition sites(models, sequence, 5);
  CHECK(sites.size() == 4);
  int64_t on_columns = 0;
  for (int64_t position = 5; position < 5 + static_cast<int64_t>(sequence.size()); ++position) {
    const char wt = sequence[static_cast<size_t>(position - 5)];
    double si = 0.0;
    double potts = 0.0;
    for (const char mt : kAminoAcids) {
      if (mt == wt) continue;
      const Variant v{{Substitution{position, wt, mt}}};
      si += models.site_independent_score(v, 5) / 19.0;
      potts += models.potts_score(v, 5) / 19.0;
      const std::vector<double> f = sites.features(v);
      REQUIRE(f.size() == 4u);
      if (!std::isfinite(models.site_independent_score(v, 5))) {
        CHECK(std::isnan(f[0]));  // off the columns: NaN, never a number made up
        continue;
      }
      CHECK(f[0] + f[1] == doctest::Approx(models.site_independent_score(v, 5)).epsilon(1e-12));
      CHECK(f[2] + f[3] == doctest::Approx(models.potts_score(v, 5)).epsilon(1e-12));
    }
    if (!std::isfinite(si)) continue;
    ++on_columns;
    CHECK(sites.site_independent_site_mean(position) == doctest::Approx(si).epsilon(1e-12));
    CHECK(sites.potts_site_mean(position) == doctest::Approx(potts).epsilon(1e-12));
  }
  CHECK(on_columns > 30);
  // A double mutant: site terms add; the residue term keeps the coupling between the two.
  const Variant dm{{Substitution{8, sequence[3], 'A'}, Substitution{20, sequence[15], 'W'}}};
  const std::vector<double> f = sites.features(dm);
  CHECK(f[2] == doctest::Approx(sites.potts_site_mean(8) + sites.potts_site_mean(20)).epsilon(1e-12));
  CHECK(f[2] + f[3] == doctest::Approx(models.potts_score(dm, 5)).epsilon(1e-12));
  // Without a Potts model: two features.
  EvolutionaryModels site_independent_only = models;
  site_independent_only.potts.reset();
  CHECK(SiteDecomposition(site_independent_only, sequence, 5).features(dm).size() == 2u);
}

TEST_CASE("evolutionary models: a non-standard letter in the wild type's aligned residues is named") {
  kfold::test::ScratchDir dir("evolution_focus_x");
  kfold::data::write_file_atomic(dir / "family.a2m", ">wt\nMKXLAG\n>h1\nMKVLAG\n>h2\nMRVLSG\n");
  const Campaign c = parse_campaign(
      R"({"name": "x", "target": {"id": "T", "sequence": "MKVLAG", "msa": "family.a2m"}})", dir / "campaign.json");
  EvolutionOptions eo;
  eo.fit_potts = false;
  try {
    build_evolutionary_models(c, eo);
    FAIL("expected an InputError");
  } catch (const kfold::InputError& e) {
    // It said only that the first record is not the target sequence: the X reads as a gap state.
    CHECK(std::string(e.what()).find("('wt') has 'X' at residue 3") != std::string::npos);
  }
}
