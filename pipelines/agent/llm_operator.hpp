// The optional LLM operator of `kfold agent` (KFOLD_LLM_URL set): an OpenAI-compatible chat model is asked
// for hypotheses from a compact dossier of the campaign, and after plate selection for a critic pass over
// the plate. The LLM is a helper, never a judge: every suggestion is validated (numbering, wild-type
// letter, frozen residues, max_mutations, library) and scored by the same deterministic pipeline as every
// other hypothesis; the critic only attaches soft "llm_concern" flags and never changes which variants are
// selected. An unreachable endpoint costs one warning and the round goes on without it. Every call is
// kept for the notebook (request SHA-256, reply, accepted and rejected suggestions).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/evolutionary_models.hpp"
#include "pipelines/agent/hypothesis.hpp"
#include "pipelines/agent/llm_client.hpp"
#include "pipelines/agent/plate_layout.hpp"
#include "pipelines/agent/scoring.hpp"

namespace kfold::pipelines::agent {

// The name of the critic's soft liability flag.
inline constexpr const char* kLlmConcernFlag = "llm_concern";

// One item of an LLM reply: a variant as written and its one-sentence rationale (proposals) or concern
// (critic).
struct LlmSuggestion {
  std::string variant;
  std::string note;
};

struct LlmRejection {
  std::string variant;
  std::string reason;
};

// Provenance of one call, written to notebook.jsonl as a {"type": "llm"} record.
struct LlmCallRecord {
  std::string purpose;  // "propose" or "critic"
  std::string url;
  std::string model;
  std::string request_sha256;         // of the JSON request body
  std::string response;               // the reply's content, at most kMaxRecordedResponse bytes
  std::string error;                  // non-empty: the call failed (then no response)
  std::vector<std::string> accepted;  // variants taken (proposals) or flagged (critic)
  std::vector<LlmRejection> rejected;
};
inline constexpr size_t kMaxRecordedResponse = 8192;

// The LLM of one round: its endpoint, the calls made, and the first failure (after which later calls are
// skipped, so that a missing endpoint costs one warning).
struct LlmSession {
  LlmConfig config;
  int64_t max_suggestions = 24;  // per reply; later items are rejected
  // The transport (post_chat_request; tests replace it).
  std::function<ChatReply(const LlmConfig&, const std::string& body)> post = post_chat_request;
  std::string failure;
  std::vector<LlmCallRecord> calls;
};

// A session when KFOLD_LLM_URL is set (llm_config_from_environment), else nullopt: nothing changes.
std::optional<LlmSession> llm_session_from_environment();

// The proposal prompt's campaign summary (about 2-6 kB for targets up to ~1,000 residues): name, target,
// numbered sequence, objective weights, frozen residues, max_mutations, the top `top` candidates of the
// preliminary (zero-shot) table without hard flags, a summary of the measured results, and how many
// hypotheses each operator proposed.
std::string llm_dossier(const Campaign& campaign, const ScoreTable& preliminary, const HypothesisSet& proposed,
                        int64_t top = 20);

// The items of the first JSON array in `reply` (models wrap JSON in ``` fences or prose): objects with a
// string "variant" and an optional string `note_key` ("rationale" or "concern"); other items are skipped.
// No array: nothing (never throws).
std::vector<LlmSuggestion> parse_llm_suggestions(std::string_view reply, std::string_view note_key);

// The suggestions that are valid hypotheses of the campaign (each once, in reply order, at most
// max_suggestions), and the others with the reason: bad syntax, wrong wild-type letter or residue out of
// range, the wild type itself, a frozen residue, more than max_mutations substitutions, outside the
// library, a duplicate.
struct ValidatedSuggestions {
  std::vector<std::pair<Variant, std::string>> accepted;  // variant, note
  std::vector<LlmRejection> rejected;
};
ValidatedSuggestions validate_llm_suggestions(const std::vector<LlmSuggestion>& suggestions, const Campaign& campaign,
                                              int64_t max_suggestions);

// The proposal operator ("llm"): scores the current proposals (score_hypotheses) for the dossier, asks the
// LLM and adds the valid suggestions to `proposed` with rationale "LLM: <their sentence>"; invalid ones
// are logged with the reason. Skipped after an earlier failure of the session.
void propose_with_llm(LlmSession& session, const Campaign& campaign, const EvolutionaryModels& models,
                      HypothesisSet& proposed);

// The critic pass over the selected plate: the LLM's concerns about variants on the plate become soft
// "llm_concern" flags (detail: the concern) of their table rows. The plate is not changed.
void critique_plate_with_llm(LlmSession& session, const Plate& plate, ScoreTable& table, const Campaign& campaign);

}  // namespace kfold::pipelines::agent
