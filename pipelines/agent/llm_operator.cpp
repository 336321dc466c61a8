// The LLM proposal operator and plate critic: prompts, reply parsing, validation of suggestions and the
// provenance records of every call.
#include "pipelines/agent/llm_operator.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "data/error.hpp"
#include "data/log.hpp"
#include "data/sha256.hpp"

namespace kfold::pipelines::agent {

namespace {

constexpr size_t kMaxNoteBytes = 120;     // rationale of an accepted suggestion
constexpr size_t kMaxConcernBytes = 200;  // detail of an llm_concern flag

// The first n bytes of text, not cutting a UTF-8 sequence.
std::string utf8_prefix(std::string_view text, size_t n) {
  if (text.size() <= n) return std::string(text);
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return std::string(text.substr(0, n));
}

// The byte length of the Unicode format or separator character that starts text[i] (0 if none): NEL,
// zero-width and direction marks, line and paragraph separators, bidi embeddings, overrides and isolates,
// the BOM. They reorder or break a line in editors and in Python's splitlines().
size_t format_character_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return k < text.size() ? static_cast<unsigned char>(text[k]) : 0; };
  if (byte(i) == 0xC2 && byte(i + 1) == 0x85) return 2;  // U+0085
  if (byte(i) == 0xE2 && byte(i + 1) == 0x80 &&
      ((byte(i + 2) >= 0x8B && byte(i + 2) <= 0x8F) || (byte(i + 2) >= 0xA8 && byte(i + 2) <= 0xAE)))
    return 3;  // U+200B..200F, U+2028..202E
  if (byte(i) == 0xE2 && byte(i + 1) == 0x81 && byte(i + 2) >= 0xA6 && byte(i + 2) <= 0xA9) return 3;  // U+2066..9
  if (byte(i) == 0xEF && byte(i + 1) == 0xBB && byte(i + 2) == 0xBF) return 3;                         // U+FEFF
  return 0;
}

// One line of at most max_bytes: whitespace, control and Unicode format characters collapsed to single
// spaces, "..." when cut.
std::string one_line(std::string_view text, size_t max_bytes) {
  std::string line;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const size_t format = format_character_length(text, i);
    const bool space = static_cast<unsigned char>(c) < 0x20 || c == ' ' || c == 0x7F || format > 0;
    if (format > 1) i += format - 1;
    if (!space)
      line += c;
    else if (!line.empty() && line.back() != ' ')
      line += ' ';
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line.size() <= max_bytes ? line : utf8_prefix(line, max_bytes - 3) + "...";
}

std::string short_number(double v) { return std::isfinite(v) ? fmt::format("{:.2f}", v) : "NA"; }

// The target as the prompts show it: name, residues and numbering, sequence in blocks of ten with the
// number of each line's first residue, objective, frozen residues, max_mutations.
std::string campaign_summary(const Campaign& campaign) {
  const auto& target = campaign.target;
  const int64_t n_res = static_cast<int64_t>(target.sequence.size());
  std::string out = fmt::format("Campaign: {}\nTarget: {}, {} residues numbered {}..{}\nSequence:\n", campaign.name,
                                target.id, n_res, target.first_residue, target.first_residue + n_res - 1);
  for (int64_t k = 0; k < n_res; k += 10) {
    out += k % 60 == 0 ? fmt::format("{}{} ", k ? "\n" : "", target.first_residue + k) : std::string(" ");
    out += target.sequence.substr(static_cast<size_t>(k), 10);
  }
  out += "\nObjective weights:";
  for (const auto& [term, weight] : campaign.objective) out += fmt::format(" {} {}", term, weight);
  out +=
      " (scored here: stability/fitness from the family alignment's evolutionary models and, once measurements "
      "exist, a model of them; solubility from the sequence; binding from predicted complexes when a partner is "
      "given; other terms not)\n";
  out += "Frozen residues (never mutated):";
  if (campaign.frozen.empty()) out += " none";
  for (const int64_t r : campaign.frozen) out += fmt::format(" {}", r);
  out += fmt::format("\nAt most {} substitution(s) per variant\n", campaign.max_mutations);
  return out;
}

// Sends one request and keeps its record in session.calls. nullopt when the endpoint fails (one warning
// per session; later calls are then skipped).
std::optional<std::string> ask_llm(LlmSession& session, const std::string& purpose, std::string_view system,
                                   std::string_view user) {
  if (!session.failure.empty()) {
    log_debug("agent: LLM {} skipped: unavailable earlier in this round", purpose);
    return std::nullopt;
  }
  LlmCallRecord record;
  record.purpose = purpose;
  record.url = url_for_display(session.config.url);
  record.model = session.config.model;
  const std::string body = chat_request_body(session.config, system, user);
  record.request_sha256 = data::sha256_hex(body);
  log_info("agent: asking the LLM at {} ({}, {} bytes)", record.url, purpose, body.size());
  const ChatReply reply = session.post(session.config, body);
  if (!reply.ok()) {
    session.failure = reply.error;
    record.error = reply.error;
    log_warn("agent: LLM at {} unavailable ({}); continuing without it", record.url, reply.error);
    session.calls.push_back(std::move(record));
    return std::nullopt;
  }
  record.response = utf8_prefix(reply.content, kMaxRecordedResponse);
  session.calls.push_back(std::move(record));
  return reply.content;
}

void log_rejections(const std::string& purpose, const std::vector<LlmRejection>& rejected) {
  for (const auto& r : rejected) log_info("agent: LLM {} '{}' rejected: {}", purpose, r.variant, r.reason);
}

// Whether a reply's array item names a variant: a text, or an object with a "variant" text.
bool is_suggestion(const nlohmann::json& item) {
  return item.is_string() || (item.is_object() && item.contains("variant") && item["variant"].is_string());
}

// The reply's array of suggestions: the first JSON array (bracket matching outside strings, then a strict
// parse) with an item that names a variant, else the first empty array ("[] when none"), else nullopt. So a
// "[1]" citation in the prose before the answer is passed over. Only the first 64 kB and 64 candidate
// brackets are examined: a reply of a few dozen items is shorter.
std::optional<nlohmann::json> suggestion_array(std::string_view text) {
  std::optional<nlohmann::json> empty;
  constexpr size_t kMaxScanned = size_t{1} << 16;
  constexpr int kMaxAttempts = 64;
  text = text.substr(0, std::min(text.size(), kMaxScanned));
  int attempts = 0;
  for (size_t start = text.find('['); start != std::string_view::npos && attempts < kMaxAttempts;
       start = text.find('[', start + 1), ++attempts) {
    int64_t depth = 0;
    bool in_string = false, escaped = false;
    size_t end = std::string_view::npos;
    for (size_t k = start; k < text.size() && end == std::string_view::npos; ++k) {
      const char c = text[k];
      if (in_string) {
        if (escaped)
          escaped = false;
        else if (c == '\\')
          escaped = true;
        else if (c == '"')
          in_string = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == '[' || c == '{') {
        ++depth;
      } else if ((c == ']' || c == '}') && --depth == 0) {
        end = k;
      }
    }
    if (end == std::string_view::npos) continue;
    auto parsed = nlohmann::json::parse(text.substr(start, end - start + 1), nullptr, false);
    if (parsed.is_discarded() || !parsed.is_array()) continue;
    if (std::any_of(parsed.begin(), parsed.end(), is_suggestion)) return parsed;
    if (parsed.empty() && !empty) empty = std::move(parsed);
  }
  return empty;
}

// Why `suggestion` is not a hypothesis of the campaign ("" when it is one; then `variant` is set).
std::string suggestion_problem(const LlmSuggestion& suggestion, const Campaign& campaign,
                               const std::set<std::string>& library, const std::set<std::string>& measured,
                               Variant& variant) {
  try {
    variant = parse_variant(suggestion.variant, "LLM");
    check_variant(variant, campaign.target.sequence, campaign.target.first_residue, "LLM");
  } catch (const InputError& e) {
    // "LLM: variant 'A23P': the wild type has I at residue 23, ..." -> "the wild type has I at residue 23, ..."
    std::string_view reason = e.what();
    if (reason.starts_with("LLM: ")) reason.remove_prefix(5);
    if (const size_t end = reason.find("': "); reason.starts_with("variant '") && end != std::string_view::npos)
      reason.remove_prefix(end + 3);
    return std::string(reason);
  }
  if (variant.is_wild_type()) return "the wild type is a control, not a hypothesis";
  for (const Substitution& s : variant.substitutions) {
    if (std::binary_search(campaign.frozen.begin(), campaign.frozen.end(), s.position))
      return fmt::format("residue {} is frozen in the campaign", s.position);
  }
  if (static_cast<int64_t>(variant.substitutions.size()) > campaign.max_mutations)
    return fmt::format("{} substitutions; the campaign allows at most {} (max_mutations)", variant.substitutions.size(),
                       campaign.max_mutations);
  if (!library.empty() && !library.count(format_variant(variant))) return "not in the campaign's library";
  if (measured.count(format_variant(variant))) return "already measured (in the campaign's results)";
  return {};
}

}  // namespace

std::optional<LlmSession> llm_session_from_environment() {
  auto config = llm_config_from_environment();
  if (!config) return std::nullopt;
  LlmSession session;
  session.config = std::move(*config);
  return session;
}

std::string llm_dossier(const Campaign& campaign, const ScoreTable& preliminary, const HypothesisSet& proposed,
                        int64_t top) {
  std::string out = campaign_summary(campaign);
  std::map<std::string, int64_t> per_operator;
  for (const Hypothesis& h : proposed.items())
    for (const auto& op : h.operators) ++per_operator[op];
  out += fmt::format("Hypotheses proposed so far: {} (by operator:", proposed.items().size());
  for (const auto& [op, n] : per_operator) out += fmt::format(" {} {}", op, n);
  out += ")\n";

  std::vector<const ScoredVariant*> candidates;
  for (const ScoredVariant& r : preliminary.rows) {
    if (std::isfinite(r.total) && !has_hard_flag(r.flags) && !r.measured) candidates.push_back(&r);
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const ScoredVariant* a, const ScoredVariant* b) { return a->total > b->total; });
  candidates.resize(std::min(candidates.size(), static_cast<size_t>(std::max<int64_t>(top, 0))));
  out += fmt::format(
      "Top {} candidates by the zero-shot score (variant, total = weighted z-score, site-independent "
      "log-ratio, Potts dE; higher is more family-like):\n",
      candidates.size());
  for (const ScoredVariant* r : candidates) {
    out += fmt::format("{} {} {} {}\n", format_variant(r->hypothesis->variant), short_number(r->total),
                       short_number(r->site_independent), short_number(r->potts));
  }

  if (!campaign.measurements.empty()) {
    std::vector<const Measurement*> measured;
    for (const auto& m : campaign.measurements) measured.push_back(&m);
    std::stable_sort(measured.begin(), measured.end(),
                     [](const Measurement* a, const Measurement* b) { return a->value > b->value; });
    constexpr size_t kBest = 5, kWorst = 3;
    const auto list = [&](size_t begin, size_t end) {
      std::string text;
      for (size_t k = begin; k < end; ++k)
        text += fmt::format("{}{} {:.3g}", text.empty() ? "" : ", ", format_variant(measured[k]->variant),
                            measured[k]->value);
      return text;
    };
    out += fmt::format("Measured so far: {} variants (higher is better). ", measured.size());
    if (measured.size() <= kBest + kWorst) {
      out += "All: " + list(0, measured.size()) + "\n";
    } else {
      out += "Best: " + list(0, kBest) + ". Worst: " + list(measured.size() - kWorst, measured.size()) + "\n";
    }
  }
  return out;
}

std::vector<LlmSuggestion> parse_llm_suggestions(std::string_view reply, std::string_view note_key) {
  std::vector<LlmSuggestion> out;
  const auto array = suggestion_array(reply);
  if (!array) {
    log_warn(
        "agent: the LLM's reply holds no JSON array of variants; nothing taken from it (the reply is in "
        "notebook.jsonl)");
    return out;
  }
  const auto trimmed = [](std::string text) {  // " K6R " as K6R
    const size_t begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return std::string();
    return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
  };
  for (const auto& item : *array) {
    if (item.is_string()) {
      out.push_back({trimmed(item.get<std::string>()), {}});
      continue;
    }
    if (!is_suggestion(item)) {
      log_debug("agent: LLM reply item without a \"variant\" text skipped");
      continue;
    }
    LlmSuggestion s;
    s.variant = trimmed(item["variant"].get<std::string>());
    const auto note = item.find(std::string(note_key));
    if (note != item.end() && note->is_string()) s.note = note->get<std::string>();
    out.push_back(std::move(s));
  }
  return out;
}

ValidatedSuggestions validate_llm_suggestions(const std::vector<LlmSuggestion>& suggestions, const Campaign& campaign,
                                              int64_t max_suggestions) {
  std::set<std::string> library;
  for (const Variant& v : campaign.library_variants) library.insert(format_variant(v));
  std::set<std::string> measured;
  for (const Measurement& m : campaign.measurements) measured.insert(format_variant(m.variant));
  ValidatedSuggestions out;
  std::set<std::string> seen;
  for (const LlmSuggestion& s : suggestions) {
    Variant variant;
    std::string problem = suggestion_problem(s, campaign, library, measured, variant);
    if (problem.empty() && !seen.insert(format_variant(variant)).second) problem = "suggested twice";
    if (problem.empty() && static_cast<int64_t>(out.accepted.size()) >= max_suggestions)
      problem = fmt::format("more than the {} suggestions asked for", max_suggestions);
    if (problem.empty())
      out.accepted.emplace_back(std::move(variant), one_line(s.note, kMaxNoteBytes));
    else
      out.rejected.push_back({one_line(s.variant, 64), std::move(problem)});
  }
  return out;
}

void propose_with_llm(LlmSession& session, const Campaign& campaign, const EvolutionaryModels& models,
                      HypothesisSet& proposed) {
  std::string dossier;
  {
    // The table points into proposed.items(): used up before anything is added.
    const ScoreTable preliminary = score_hypotheses(proposed.items(), campaign, models, nullptr, false);
    dossier = llm_dossier(campaign, preliminary, proposed);
  }
  const std::string system =
      "You advise a deterministic protein-engineering pipeline. It scores every variant you suggest with its "
      "own models; invalid suggestions are dropped. Answer with a JSON array only.";
  const std::string user = fmt::format(
      "{}\nSuggest at most {} variants of this target likely to improve the objective, preferably ones the "
      "pipeline's operators did not propose (combinations, substitutions backed by structural or biochemical "
      "reasoning). Write each as A23P (wild-type letter, residue number in the numbering above, mutant letter), "
      "several joined by ':' (at most {}); never change a frozen residue. Reply with a JSON array of objects "
      "{{\"variant\": \"A23P\", \"rationale\": \"one sentence\"}}.",
      dossier, session.max_suggestions, campaign.max_mutations);
  const auto reply = ask_llm(session, "propose", system, user);
  if (!reply) return;
  const ValidatedSuggestions result =
      validate_llm_suggestions(parse_llm_suggestions(*reply, "rationale"), campaign, session.max_suggestions);
  LlmCallRecord& record = session.calls.back();
  for (const auto& [variant, note] : result.accepted) {
    proposed.add("llm", variant, {"LLM: " + (note.empty() ? std::string("no reason given") : note)});
    record.accepted.push_back(format_variant(variant));
  }
  record.rejected = result.rejected;
  log_rejections("suggestion", result.rejected);
  log_info("agent: LLM suggested {} variants: {} accepted, {} rejected",
           result.accepted.size() + result.rejected.size(), result.accepted.size(), result.rejected.size());
}

void critique_plate_with_llm(LlmSession& session, const Plate& plate, ScoreTable& table, const Campaign& campaign) {
  const std::vector<const PlateWell*> ranked = ranked_variant_wells(plate);
  std::map<std::string, size_t> plate_rows;  // variant -> table row
  std::string wells;
  for (const PlateWell* w : ranked) {
    const ScoredVariant& r = table.rows[static_cast<size_t>(w->row)];
    const std::string variant = format_variant(r.hypothesis->variant);
    plate_rows.emplace(variant, static_cast<size_t>(w->row));
    const std::string flags = format_flags(r.flags);
    wells += fmt::format("{} {} {} {} {}\n", w->rank, variant, short_number(r.total), flags.empty() ? "-" : flags,
                         operator_label(*r.hypothesis));
  }
  if (plate_rows.empty()) return;
  const std::string system =
      "You are the critic of a protein-engineering plate chosen by a deterministic pipeline. Name only concrete "
      "concerns; the pipeline keeps its choice and reports them. Answer with a JSON array only.";
  const std::string user = fmt::format(
      "{}\nPlate (rank, variant, score, liability flags, operator):\n{}\nCritic pass: which variants on this "
      "plate would you warn the experimenter about (likely misfolding, loss of function, a liability the flags "
      "miss)? At most {}. Reply with a JSON array of objects {{\"variant\": \"A23P\", \"concern\": \"one "
      "sentence\"}}, or [] when none.",
      campaign_summary(campaign), wells, session.max_suggestions);
  const auto reply = ask_llm(session, "critic", system, user);
  if (!reply) return;
  LlmCallRecord& record = session.calls.back();
  std::set<std::string> seen;
  for (const LlmSuggestion& s : parse_llm_suggestions(*reply, "concern")) {
    std::string key = one_line(s.variant, 64);
    try {
      key = format_variant(parse_variant(s.variant, "LLM concern"));
    } catch (const InputError&) {
      // not a variant: "not on the plate" below
    }
    const auto row = plate_rows.find(key);
    std::string problem;
    if (row == plate_rows.end())
      problem = "not on the plate";
    else if (!seen.insert(key).second)
      problem = "a second concern about the same variant";
    else if (static_cast<int64_t>(record.accepted.size()) >= session.max_suggestions)
      problem = fmt::format("more than the {} concerns asked for", session.max_suggestions);
    if (!problem.empty()) {
      record.rejected.push_back({key, std::move(problem)});
      continue;
    }
    const std::string concern = one_line(s.note, kMaxConcernBytes);
    table.rows[row->second].flags.push_back({kLlmConcernFlag, false, concern.empty() ? "no reason given" : concern});
    record.accepted.push_back(key);
  }
  log_rejections("concern about", record.rejected);
  log_info("agent: LLM critic: {} concerns attached to plate variants, {} rejected", record.accepted.size(),
           record.rejected.size());
}

}  // namespace kfold::pipelines::agent
