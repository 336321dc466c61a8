// The campaign file of `kfold agent` (JSON): the target, the objective, constraints, the plate and the
// lab results so far. Paths inside it are relative to the campaign file. Every bad field is an
// InputError naming the file, the field and the fix.
//
//   {"name": "ubq", "target": {"id": "UBQ", "sequence": "MQIF...", "msa": "ubq.a3m", "first_residue": 1,
//                              "partner": {"id": "E2", "sequence": "...", "msa": "e2.a3m"}},
//    "objective": {"stability": 1.0, "solubility": 0.3}, "frozen": [1, 2], "max_mutations": 1,
//    "plate": {"size": 96, "controls": 4, "blanks": 2, "constructs": 4, "max_per_position": 2,
//              "explore_fraction": 0.25, "similarity_penalty": 0.5},
//    "structure_budget": 50, "seed": 0, "results": ["round0.csv"], "better": "higher", "library": "variants.csv",
//    "evolution": {"model": "auto", "potts_iterations": 100},
//    "acquisition": {"type": "ucb", "beta": 1.0}, "surrogate": {"members": 32}}
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pipelines/agent/variant.hpp"

namespace kfold::pipelines::agent {

// The most L-BFGS iterations of the Potts fit (evolution.potts_iterations, --potts-iterations).
inline constexpr int64_t kMaxPottsIterations = 100000;

// A binding partner: predictions become complexes (target chain A, partner chain B).
struct PartnerChain {
  std::string id;
  std::string sequence;
  std::filesystem::path msa;  // its own MSA (A3M/A2M/Stockholm, first row its sequence), resolved; empty: none
};

struct CampaignTarget {
  std::string id;
  std::string sequence;       // upper-case one-letter codes, the 20 standard amino acids
  int64_t first_residue = 1;  // residue number of sequence[0]; variants and `frozen` use this numbering
  std::filesystem::path msa;  // family alignment (A2M/A3M), resolved against the campaign's folder
  // Or a sequence database (kfold db create directory, or FASTA) to search for it: run_agent then sets
  // `msa` to the searched alignment (target_search.hpp). Exactly one of the two is given.
  std::filesystem::path db;
  std::optional<PartnerChain> partner;
};

// Objective terms the campaign may weigh. This version computes stability/fitness (evolutionary),
// solubility and, with target.partner and structure predictions, binding (binding_terms.hpp); activity
// and expression are reported as not computed.
inline constexpr const char* kObjectiveTerms[] = {"stability",  "fitness", "activity",
                                                  "solubility", "binding", "expression"};

struct PlateSpec {
  int64_t size = 96;     // wells: 24, 48, 96 or 384
  int64_t controls = 4;  // wild-type control wells
  // Blank wells (buffer only, no protein): the background to subtract. Two by default: the background
  // (buffer, plate, reader) is one number per plate to first order, and a second well shows when one is
  // off (a bubble, a splash of protein), at 2 of 96 wells. Unset: 2, or fewer when the controls leave
  // fewer wells beside one variant well.
  int64_t blanks = 2;
  // Wells for construct proposals, at most (construct_boundaries.hpp); only this many are predicted.
  // Unset: 4, or fewer when the controls and blanks leave fewer wells beside one variant well.
  int64_t constructs = 4;
  int64_t max_per_position = 2;  // variants per residue position on one plate
  // Share of the variant wells picked for exploration (one per residue never measured and not yet on
  // the plate: the best residue term there, plus the solubility term when weighted); the rest exploit
  // (best acquisition value, zero-shot: best total).
  double explore_fraction = 0.25;
  // Greedy picks lose similarity_penalty x (spread of the ranking key) per substitution they share with
  // a variant already picked.
  double similarity_penalty = 0.5;
};

// How unmeasured candidates are ranked once a surrogate exists: "ucb" (mean + beta sd) or "thompson"
// (one bootstrap member drawn per pick, seeded).
struct AcquisitionSpec {
  std::string type = "ucb";
  double beta = 1.0;
};

// The surrogate fitted to measured results: a bootstrap ensemble of ridge regressions.
struct SurrogateSpec {
  int64_t members = 32;
  int64_t min_measurements = 8;  // fewer distinct measured variants: no surrogate (zero-shot ranking)
};

// Which evolutionary model gives the stability/fitness term: "auto" (Potts when the alignment is deep
// enough: Neff >= number of columns, else site-independent), "potts" or "site_independent".
struct EvolutionSpec {
  std::string model = "auto";
  int64_t potts_iterations = 100;
  double identity = 0.8;  // sequence-weight identity threshold
};

struct Measurement {
  Variant variant;
  double value = 0.0;
  std::optional<double> sd;
  std::string source;  // "file:line"
};

// Each variant's measurements (its wells on one plate, on several plates, the same export added twice) as
// one, in first-measured order: the rows without sd count with the median sd of the others (the rule of
// measurement_weights), so the mean is inverse-variance weighted and its sd the combined one; exact rows
// (sd 0) alone make the mean when there are any; without any sd, the plain mean. As separate rows,
// leave-one-out predicted each replicate from its twin: the surrogate's error looked 3x smaller than on the
// next plate (Spearman 0.95 against 0.16) and lambda fell to the grid's smallest.
std::vector<Measurement> replicate_means(const std::vector<Measurement>& measurements);

struct Campaign {
  std::filesystem::path path;  // the campaign file
  std::string name;
  CampaignTarget target;
  std::map<std::string, double> objective;  // term -> weight, every key one of kObjectiveTerms
  std::vector<int64_t> frozen;              // residue numbers never mutated (sorted, unique)
  int64_t max_mutations = 1;
  PlateSpec plate;
  int64_t structure_budget = 0;
  uint64_t seed = 0;
  std::vector<std::filesystem::path> results;  // resolved paths
  // "better": "lower" (a Kd, an IC50, a melting-time loss): the measured values are negated as read, so that higher
  // is better everywhere after (the surrogate, the combinations of beneficial singles, every output). Default false.
  bool lower_is_better = false;
  std::vector<Measurement> measurements;  // parsed from `results` (negated when lower_is_better)
  // Optional library: the only variants the lab can make (one per line, first CSV column; header
  // `variant` optional). When given, hypotheses outside it are dropped and its variants are added.
  std::filesystem::path library;
  std::vector<Variant> library_variants;
  EvolutionSpec evolution;
  AcquisitionSpec acquisition;
  SurrogateSpec surrogate;
};

// The number of distinct variants measured (replicates and the wild type's control wells count once):
// what surrogate.min_measurements is compared with.
int64_t measured_variant_count(const Campaign& campaign);

// The outputs' sentence on negated measurements (campaign.lower_is_better), "" when they are not.
std::string measured_direction_note(const Campaign& campaign);

// True when `residue` (a residue number) is in campaign.frozen.
bool is_frozen(const Campaign& campaign, int64_t residue);

// Reads and validates the campaign and its results CSVs (`variant,value[,sd]`, header line optional).
Campaign read_campaign(const std::filesystem::path& path);
Campaign parse_campaign(const std::string& json_text, const std::filesystem::path& path);

}  // namespace kfold::pipelines::agent
