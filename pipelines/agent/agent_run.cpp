// The agent round end to end: campaign in, plate and records out.
#include "pipelines/agent/agent_run.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "data/atomic_output.hpp"
#include "data/cpu_count.hpp"
#include "data/error.hpp"
#include "data/interrupt.hpp"
#include "data/lock_directory.hpp"
#include "data/log.hpp"
#include "data/progress.hpp"
#include "data/sha256.hpp"
#include "data/text_input.hpp"
#include "pipelines/agent/agent_outputs.hpp"
#include "pipelines/agent/binding_terms.hpp"
#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/evolutionary_models.hpp"
#include "pipelines/agent/liability_filters.hpp"
#include "pipelines/agent/operators.hpp"
#include "pipelines/agent/plate_layout.hpp"
#include "pipelines/agent/report_html.hpp"
#include "pipelines/agent/scoring.hpp"
#include "pipelines/agent/structure_operators.hpp"
#include "pipelines/agent/target_search.hpp"

namespace kfold::pipelines::agent {

namespace {

// Number of "run" records already in the notebook (the new round is one more); InputError when they are
// another campaign's (its round 2 would have mixed two campaigns' hypothesis ids in one notebook).
int64_t previous_rounds(const std::string& notebook, const std::filesystem::path& path, const Campaign& campaign) {
  int64_t n = 0;
  int64_t line_number = 0;
  size_t start = 0;
  while (start < notebook.size()) {
    const size_t end = std::min(notebook.find('\n', start), notebook.size());
    ++line_number;
    const std::string_view line(notebook.data() + start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.is_object()) {
      fail_input("{}:{}: not a JSON record; the notebook is append-only: restore it or write to a new folder",
                 path.string(), line_number);
    }
    if (record.value("type", "") != "run") continue;
    ++n;
    const std::string name = record.value("campaign", "");
    if (name != campaign.name) {
      fail_input(
          "{}:{}: this folder holds the rounds of campaign '{}', not of '{}'; give this campaign its own "
          "folder (-o)",
          path.string(), line_number, name, campaign.name);
    }
  }
  return n;
}

// Structure terms for the structure_budget best candidates by what the plate ranks, picked as the plate
// picks them (structure_shortlist: what could go on the plate, at most plate.max_per_position per
// residue), against the wild type's prediction. Returns the predictions (nullopt when nothing was
// shortlisted).
std::optional<PredictedStructures> add_predicted_structure_terms(ScoreTable& table, const Campaign& campaign,
                                                                 int64_t budget, StructureOracle& oracle,
                                                                 const StructurePrediction& wild_type,
                                                                 const std::function<void()>& check_cancelled) {
  const std::vector<size_t> order = structure_shortlist(table, campaign, budget);
  if (order.empty()) return std::nullopt;
  log_info(
      "agent: predicting {} shortlisted variants (structure_budget {}, {} left for variants; at most {} per "
      "residue, as on the plate)",
      order.size(), campaign.structure_budget, budget, campaign.plate.max_per_position);
  const auto& wild_type_sequence = campaign.target.sequence;
  Progress progress("structures", static_cast<int64_t>(order.size()));
  PredictedStructures predicted;
  predicted.wild_type = wild_type;
  const StructurePrediction wild_target = target_chain(wild_type);
  std::vector<std::optional<StructureTerms>> terms(table.rows.size());
  for (const size_t i : order) {
    check_interrupt();
    if (check_cancelled) check_cancelled();
    const auto& variant = table.rows[i].hypothesis->variant;
    auto mutant = oracle.predict(apply_variant(variant, wild_type_sequence, campaign.target.first_residue));
    terms[i] = structure_terms(wild_target, target_chain(mutant), variant, campaign.target.first_residue);
    if (wild_type.chain_break > 0) add_interface_terms(*terms[i], wild_type, mutant);
    predicted.variants.emplace_back(i, std::move(mutant));
    progress.advance();
  }
  add_structure_terms(table, terms);
  if (wild_type.chain_break > 0) {
    const InterfaceTerms interface = interface_terms(wild_type);
    table.wild_type_interface_pae = interface.pae;
    table.wild_type_interface_contacts = interface.contacts;
    table.wild_type_iptm = wild_type.iptm;
  }
  return predicted;
}

// Construct proposals from the wild type's pLDDT and PAE (of its target chain); the first `budget` of
// them (at most plate.constructs: those that can reach the plate) are predicted on their own, in
// complex with the partner when the campaign has one (their mean pLDDT, pTM and interface PAE; the
// predictions go to `predictions`). Returns how many were predicted.
int64_t propose_and_predict_constructs(ScoreTable& table, const Campaign& campaign,
                                       const StructurePrediction& wild_type, StructureOracle& oracle, int64_t budget,
                                       const std::function<void()>& cancellation_point,
                                       std::vector<std::pair<size_t, StructurePrediction>>& predictions) {
  table.constructs = propose_constructs(campaign, target_chain(wild_type));
  if (table.constructs.empty()) return 0;
  const auto n = std::min({budget, campaign.plate.constructs, static_cast<int64_t>(table.constructs.size())});
  log_info("agent: {} construct proposals; predicting {} of them{}", table.constructs.size(), n,
           wild_type.chain_break > 0 ? " in complex with " + campaign.target.partner->id : std::string());
  const double wild_type_interface_pae =
      wild_type.chain_break > 0 ? interface_terms(wild_type).pae : std::numeric_limits<double>::quiet_NaN();
  for (int64_t k = 0; k < n; ++k) {
    cancellation_point();
    Construct& c = table.constructs[static_cast<size_t>(k)];
    StructurePrediction p =
        oracle.predict_fragment(construct_sequence(c, campaign), c.first - campaign.target.first_residue);
    c.predicted_plddt = finite_moments(target_chain(p).plddt).mean;
    c.predicted_ptm = p.ptm;
    if (p.chain_break > 0) {
      c.interface_pae = interface_terms(p).pae;
      if (std::isfinite(c.interface_pae)) {
        c.rationale.push_back(fmt::format("with {}: interface PAE {:.1f} Å (full-length wild type {:.1f} Å)",
                                          campaign.target.partner->id, c.interface_pae, wild_type_interface_pae));
      }
    }
    predictions.emplace_back(static_cast<size_t>(k), std::move(p));
  }
  return n;
}

// DIR/structures/WT.pdb, <id>_<mutations>.pdb of the predicted shortlist and <id>_construct_<first>-<last>.pdb
// of the constructs predicted alone (those with PDB text).
std::vector<std::pair<std::filesystem::path, std::string>> structure_files(const std::filesystem::path& dir,
                                                                           const ScoreTable& table,
                                                                           const PredictedStructures& predicted) {
  std::vector<std::pair<std::filesystem::path, std::string>> files;
  if (!predicted.wild_type.pdb.empty()) files.emplace_back(dir / "WT.pdb", predicted.wild_type.pdb);
  for (const auto& [row, prediction] : predicted.variants) {
    if (prediction.pdb.empty()) continue;
    const Hypothesis& h = *table.rows[row].hypothesis;
    std::string name = h.id + "_" + format_variant(h.variant);
    std::replace(name.begin(), name.end(), ':', '_');
    files.emplace_back(dir / (name + ".pdb"), prediction.pdb);
  }
  for (const auto& [index, prediction] : predicted.constructs) {
    if (prediction.pdb.empty()) continue;
    const Construct& c = table.constructs[index];
    files.emplace_back(dir / fmt::format("{}_construct_{}-{}.pdb", c.id, c.first, c.last), prediction.pdb);
  }
  return files;
}

// The files a round writes or removes in its output folder (and structures/).
constexpr std::string_view kRoundFiles[] = {"scores.tsv",     "plate.csv", "notebook.jsonl", "report.md", "report.html",
                                            "constructs.tsv", "done"};

// The round's files in `out_dir` (written at the end of run_agent) must not be the campaign's inputs: results saved
// as DIR/plate.csv were replaced by the next plate without a word, and inputs in DIR/structures/ removed.
void check_inputs_outside_round_files(const Campaign& campaign, const std::filesystem::path& out_dir) {
  namespace fs = std::filesystem;
  std::vector<std::pair<fs::path, std::string>> inputs{{campaign.path, "the campaign file"}};
  if (!campaign.target.msa.empty()) inputs.emplace_back(campaign.target.msa, "target.msa");
  if (!campaign.target.db.empty()) inputs.emplace_back(campaign.target.db, "target.db");
  if (campaign.target.partner && !campaign.target.partner->msa.empty())
    inputs.emplace_back(campaign.target.partner->msa, "target.partner.msa");
  if (!campaign.library.empty()) inputs.emplace_back(campaign.library, "library");
  for (const auto& path : campaign.results) inputs.emplace_back(path, "results");
  std::error_code error;
  for (const auto& [input, field] : inputs) {
    std::string_view clash;
    for (const std::string_view name : kRoundFiles)
      if (fs::equivalent(out_dir / name, input, error)) clash = name;
    if (fs::equivalent(input.parent_path(), out_dir / "structures", error)) clash = "structures/";
    if (!clash.empty())
      fail_input(
          "{} ({}): is -o {}'s {}, which each round writes or removes; move it out of that folder (and "
          "update the campaign) or give another -o",
          input.string(), field, out_dir.string(), clash);
  }
}

// The campaign's wild type as the oracle predicts it (in complex with the partner chain when there is one).
StructurePrediction predict_wild_type(const Campaign& campaign, StructureOracle& oracle) {
  const bool homo =
      campaign.target.partner && partner_is_target_copy(campaign.target.partner->sequence, campaign.target.sequence);
  log_info("agent: predicting the wild type{}{}",
           campaign.target.partner ? " in complex with " + campaign.target.partner->id : std::string(),
           homo ? " (a copy of the target: a homo-oligomer; each variant is applied to both chains)" : "");
  StructurePrediction wild_type = oracle.predict(campaign.target.sequence);
  if (wild_type.chain_break > 0) {
    const InterfaceTerms interface = interface_terms(wild_type);
    log_info("agent: wild-type interface: {}{}{} Cβ contacts",
             std::isfinite(interface.pae) ? fmt::format("mean PAE {:.1f} Å between the chains, ", interface.pae)
                                          : std::string("no PAE (the model has no PAE head), "),
             std::isfinite(wild_type.iptm) ? fmt::format("ipTM {:.3f}, ", wild_type.iptm) : std::string(),
             interface.contacts);
  }
  return wild_type;
}

// Every operator's proposals for round `round` (structure rules with a predicted wild type, the LLM's with a
// session), restricted to the campaign's library when it has one.
HypothesisSet propose_hypotheses(const Campaign& campaign, const EvolutionaryModels& models,
                                 const StructurePrediction* wild_target, LlmSession* llm, int64_t round) {
  HypothesisSet proposed(fmt::format("R{}-", round));  // ids unique across the campaign's rounds
  propose_single_substitutions(campaign, proposed);
  propose_consensus(campaign, models, proposed);
  propose_coevolution_pairs(campaign, models, proposed);
  propose_beneficial_combinations(campaign, proposed);
  if (wild_target != nullptr) {
    propose_structure_rules(campaign, models, analyse_wild_type(*wild_target, campaign.target.sequence.size()),
                            proposed);
  }
  if (llm != nullptr) propose_with_llm(*llm, campaign, models, proposed);
  HypothesisSet hypotheses = restrict_to_library(campaign, proposed);
  if (!campaign.library_variants.empty()) {
    log_info("agent: library {}: {} variants; {} of {} proposals kept", campaign.library.string(),
             campaign.library_variants.size(), hypotheses.items().size(), proposed.items().size());
  }
  log_info("agent: {} hypotheses", hypotheses.items().size());
  return hypotheses;
}

// The round being written, DIR/.round-writing: "kfold agent round N", then the round's files that an earlier round
// may have left under other names (constructs.tsv, structures/*.pdb), one per line. It is in place before `done`
// is removed and goes after the new `done`. A run stopped between the notebook's rename, which commits the round,
// and `done`'s (killed, a second Ctrl-C, a failing disk) leaves it, and the rerun finishes that round
// (finish_round) instead of making another one.
constexpr std::string_view kRoundMarker = ".round-writing";

struct RoundMarker {
  int64_t round = 0;
  std::vector<std::string> files;  // relative to the output folder
};

std::string round_marker_text(const RoundMarker& marker) {
  std::string text = fmt::format("kfold agent round {}\n", marker.round);
  for (const auto& file : marker.files) text += file + "\n";
  return text;
}

// The marker a stopped run left in `out_dir`; nullopt when there is none (or it is not one).
std::optional<RoundMarker> read_round_marker(const std::filesystem::path& out_dir) {
  std::error_code error;
  const auto path = out_dir / kRoundMarker;
  if (!std::filesystem::is_regular_file(path, error)) return std::nullopt;
  const std::string text = data::read_text_file(path);
  constexpr std::string_view kHead = "kfold agent round ";
  RoundMarker marker;
  for (size_t start = 0; start < text.size();) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string line = text.substr(start, end - start);
    if (start == 0) {
      char* rest = nullptr;
      if (line.starts_with(kHead)) marker.round = std::strtoll(line.c_str() + kHead.size(), &rest, 10);
      if (marker.round <= 0 || rest == nullptr || *rest != '\0') return std::nullopt;
    } else if (!line.empty()) {
      marker.files.push_back(line);
    }
    start = end + 1;
  }
  if (marker.round <= 0) return std::nullopt;
  return marker;
}

// The rest of a round whose files are in place: an earlier round's constructs.tsv and structures that this one
// has not (they would be taken for its own) go, then `done` (prepared with the files, else written now), then the
// marker.
void finish_round(const std::filesystem::path& out_dir, const RoundMarker& marker,
                  std::unique_ptr<data::AtomicOutput> done) {
  namespace fs = std::filesystem;
  const auto in_round = [&](const fs::path& path) {
    const std::string name = path.lexically_relative(out_dir).generic_string();
    return std::find(marker.files.begin(), marker.files.end(), name) != marker.files.end();
  };
  std::error_code error;
  if (!in_round(out_dir / "constructs.tsv")) fs::remove(out_dir / "constructs.tsv", error);
  const fs::path structures_dir = out_dir / "structures";
  std::vector<fs::path> earlier;
  for (const auto& entry : fs::directory_iterator(structures_dir, error))
    if (!in_round(entry.path())) earlier.push_back(entry.path());
  for (const auto& path : earlier) fs::remove(path, error);
  fs::remove(structures_dir, error);  // only when empty
  try {
    if (done)
      done->commit();
    else
      data::write_file_atomic(out_dir / "done", "");
  } catch (const std::exception& e) {  // (the marker stays: a rerun finishes the round)
    fail_runtime(
        "{}; the round's files are complete and notebook.jsonl records it, but `done` could not be put "
        "beside them: running again marks the round done",
        e.what());
  }
  fs::remove(out_dir / kRoundMarker, error);
}

// The round's files, all or nothing: a full disk or a failing rename leaves the previous round's files as they
// were. `done` is removed first, so that a crash between the renames is never taken for a complete round, and
// the notebook goes last, so that a rerun after one makes this round again (it counts the notebook's rounds); the
// new `done` is prepared with the files (a disk that fills fails there) and renamed into place after them. A
// run stopped after the notebook's rename leaves the round marker, which the rerun finishes the round by.
void write_round_files(const std::filesystem::path& out_dir, const std::filesystem::path& notebook_path,
                       const std::string& notebook, const ScoreTable& table, const Plate& plate,
                       const Campaign& campaign, const EvolutionaryModels& models, const RunRecord& run,
                       const std::optional<PredictedStructures>& predicted, int64_t round) {
  namespace fs = std::filesystem;
  std::vector<std::pair<fs::path, std::string>> files{
      {out_dir / "scores.tsv", scores_tsv(table, campaign)},
      {out_dir / "plate.csv", plate_csv(plate, table, campaign)},
      {out_dir / "report.md", report_md(table, plate, campaign, models, run)},
      {out_dir / "report.html", report_html(table, plate, campaign, models, run, predicted)}};
  RoundMarker marker{round, {}};
  if (!table.constructs.empty()) {
    files.emplace_back(out_dir / "constructs.tsv", constructs_tsv(table, plate, campaign));
    marker.files.emplace_back("constructs.tsv");
  }
  const fs::path structures_dir = out_dir / "structures";
  const auto structures =
      predicted ? structure_files(structures_dir, table, *predicted) : std::vector<std::pair<fs::path, std::string>>{};
  files.insert(files.end(), structures.begin(), structures.end());
  for (const auto& [path, content] : structures) marker.files.push_back("structures/" + path.filename().string());
  files.emplace_back(notebook_path, notebook);
  data::write_file_atomic(out_dir / kRoundMarker, round_marker_text(marker));
  const bool was_done = fs::exists(out_dir / "done");
  fs::remove(out_dir / "done");
  std::unique_ptr<data::AtomicOutput> done;
  try {
    if (!structures.empty()) data::ensure_directory(structures_dir);  // (a file there: the earlier `done` put back)
    done = data::prepare_file_atomic(out_dir / "done", "");
    data::write_files_atomic(files);
  } catch (...) {
    std::error_code error;
    fs::remove(out_dir / kRoundMarker, error);  // (left, it says this round is not in the notebook: no harm)
    if (was_done) {                             // the previous round's files, complete again
      try {
        data::write_file_atomic(out_dir / "done", "");  // (never through a link another user put there)
      } catch (const std::exception&) {                 // the write's own error is the one to report
      }
    }
    throw;
  }
  finish_round(out_dir, marker, std::move(done));
  log_info("agent: wrote {}/{{scores.tsv, plate.csv, notebook.jsonl, report.md, report.html{}}}{}", out_dir.string(),
           table.constructs.empty() ? "" : ", constructs.tsv", structures.empty() ? "" : " and structures/");
}

}  // namespace

void run_agent(const std::filesystem::path& campaign_path, const AgentOptions& options) {
  run_agent(read_campaign(campaign_path), campaign_path, options);
}

void run_agent(Campaign campaign, const std::filesystem::path& campaign_path, const AgentOptions& options) {
  namespace fs = std::filesystem;
  if (options.threads < 0) fail_input("--threads must be >= 0 (got {})", options.threads);
  // The optional LLM operator (KFOLD_LLM_URL; llm_operator.hpp): read now, so that a bad KFOLD_LLM_*
  // value fails before any long work. Unset: nothing changes.
  std::optional<LlmSession> llm = llm_session_from_environment();
  if (options.potts_iterations) {
    // The campaign's evolution.potts_iterations range: a huge count ran until L-BFGS converged, however long.
    if (*options.potts_iterations < 1 || *options.potts_iterations > kMaxPottsIterations)
      fail_input("--potts-iterations must be between 1 and {} (got {})", kMaxPottsIterations,
                 *options.potts_iterations);
    campaign.evolution.potts_iterations = *options.potts_iterations;
  }
  // A cache the user named that cannot be one fails now, not with a warning after the fit (it ran on, exit 0).
  if (std::error_code error; !options.evolution_cache.empty() && fs::exists(options.evolution_cache, error) &&
                             !fs::is_directory(options.evolution_cache, error))
    fail_input("--evolution-cache {}: exists and is not a directory; give a folder (made when missing)",
               options.evolution_cache.string());
  const uint64_t seed = options.seed.value_or(campaign.seed);
  if (fs::exists(options.out_dir) && !fs::is_directory(options.out_dir)) {
    fail_input("{}: exists and is not a directory; give -o a folder", options.out_dir.string());
  }
  // A run that fails (or is stopped) removes the output folder it created while that is still empty.
  struct RemoveIfEmpty {
    fs::path dir;
    ~RemoveIfEmpty() {
      std::error_code ec;
      if (!dir.empty() && fs::is_empty(dir, ec) && !ec) fs::remove(dir, ec);
    }
  } created_folder{fs::exists(options.out_dir) ? fs::path() : options.out_dir};
  check_inputs_outside_round_files(campaign, options.out_dir);
  data::ensure_directory(options.out_dir);
  // Two runs into one folder took the same round: the later one stops here (a killed run's lock is taken over).
  data::LockDirectory locks(options.out_dir, std::chrono::seconds{600}, false);
  const auto lock = locks.try_lock(".kfold_agent");
  if (!lock)
    fail_input("{}: another kfold agent is writing it ({}); wait for it to finish, or give another -o",
               options.out_dir.string(), locks.holder_text(".kfold_agent"));
  // A killed run's temporary files (some are links to its previous round's files): the round's, the db search's.
  std::vector<std::string> outputs(std::begin(kRoundFiles), std::end(kRoundFiles));
  outputs.insert(outputs.end(), {std::string(kRoundMarker), "target.a3m", "target_search.json", ".kfold_agent.lock"});
  data::remove_dead_temp_files(options.out_dir, outputs, std::chrono::seconds{0});
  data::remove_temp_files(options.out_dir / "structures");  // (the round's own folder: nothing else is kept there)
  // The notebook is read before any long work: a damaged one fails now, not after the predictions.
  const fs::path notebook_path = options.out_dir / "notebook.jsonl";
  std::string notebook = fs::exists(notebook_path) ? data::read_text_file(notebook_path) : std::string();
  if (!notebook.empty() && notebook.back() != '\n') notebook += '\n';
  const int64_t round = previous_rounds(notebook, notebook_path, campaign) + 1;
  // A round in the notebook (its files all in place) that a stopped run left without `done`: finished, and no more.
  if (const auto marker = read_round_marker(options.out_dir);
      marker && marker->round == round - 1 && !fs::exists(options.out_dir / "done")) {
    finish_round(options.out_dir, *marker, nullptr);
    log_info(
        "agent: round {} was written whole by a run stopped before it was marked done; marked it now (nothing else "
        "was run: run again for round {})",
        marker->round, round);
    return;
  }
  const int threads = options.threads > 0 ? options.threads : static_cast<int>(data::default_threads());

  RunRecord run;
  run.seed = seed;
  run.threads = threads;
  run.no_potts = options.no_potts;
  if (options.structure_oracle != nullptr) {
    run.structure_model = options.structure_oracle->description();
    run.random_structure_weights = options.structure_oracle->random_weights();
  }
  run.input_hashes[campaign_path.string()] = data::sha256_file(campaign_path);
  if (!campaign.target.db.empty()) {
    campaign.target.msa = searched_target_msa(campaign, options.out_dir, threads, options.check_cancelled);
    if (options.structure_oracle != nullptr) {
      options.structure_oracle->family_alignment_found(campaign.target.msa, campaign.target.sequence);
    }
  }
  run.input_hashes[campaign.target.msa.string()] = data::sha256_file(campaign.target.msa);
  if (campaign.target.partner && !campaign.target.partner->msa.empty())
    run.input_hashes[campaign.target.partner->msa.string()] = data::sha256_file(campaign.target.partner->msa);
  for (const auto& p : campaign.results) run.input_hashes[p.string()] = data::sha256_file(p);

  EvolutionOptions eo;
  eo.fit_potts = !options.no_potts;
  eo.threads = threads;
  eo.cache_dir = options.evolution_cache;
  eo.check_cancelled = options.check_cancelled;
  const auto cancellation_point = [&options] {
    check_interrupt();  // the CLI's Ctrl-C / SIGTERM (data/interrupt.hpp)
    if (options.check_cancelled) options.check_cancelled();
  };
  cancellation_point();
  const EvolutionaryModels models = build_evolutionary_models(campaign, eo);
  cancellation_point();

  // The wild type is predicted first: the structure operators, the liability rules (helices, Cys
  // geometry) and the solubility term's exposure read it (its target chain when it is a complex with
  // the campaign's partner).
  std::optional<StructurePrediction> wild_type;  // as predicted (a complex with a partner)
  if (options.structure_oracle != nullptr && campaign.structure_budget > 0) {
    wild_type = predict_wild_type(campaign, *options.structure_oracle);
    cancellation_point();
  }
  const std::optional<StructurePrediction> wild_target =  // the target chain of it
      wild_type ? std::optional(target_chain(*wild_type)) : std::nullopt;

  const HypothesisSet hypotheses =
      propose_hypotheses(campaign, models, wild_target ? &*wild_target : nullptr, llm ? &*llm : nullptr, round);
  ScoreTable table = score_hypotheses(hypotheses.items(), campaign, models, wild_target ? &*wild_target : nullptr);
  apply_surrogate(table, campaign, models, seed, threads);
  cancellation_point();
  std::optional<PredictedStructures> predicted;
  if (wild_type) {
    std::vector<std::pair<size_t, StructurePrediction>> constructs;
    const int64_t used = propose_and_predict_constructs(table, campaign, *wild_type, *options.structure_oracle,
                                                        campaign.structure_budget, cancellation_point, constructs);
    predicted = add_predicted_structure_terms(table, campaign, campaign.structure_budget - used,
                                              *options.structure_oracle, *wild_type, options.check_cancelled);
    if (!constructs.empty()) {
      if (!predicted) predicted = PredictedStructures{*wild_type, {}, {}};
      predicted->constructs = std::move(constructs);
    }
  }
  cancellation_point();
  const Plate plate = select_plate(table, campaign, seed, round);
  log_info(
      "agent: plate of {} wells: {} variants ({} explore), {} constructs, {} controls, {} blanks ({} eligible, {} "
      "filtered by liabilities)",
      campaign.plate.size, plate.n_variants, plate.n_explore, plate.n_constructs, plate.n_controls, plate.n_blanks,
      plate.n_candidates, plate.n_filtered);
  if (llm) {
    critique_plate_with_llm(*llm, plate, table, campaign);  // soft flags only: the plate stays as selected
    run.llm_calls = llm->calls;
  }

  notebook += notebook_lines(table, plate, campaign, models, run, round);

  write_round_files(options.out_dir, notebook_path, notebook, table, plate, campaign, models, run, predicted, round);
}

}  // namespace kfold::pipelines::agent
