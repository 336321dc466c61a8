// Reading and validating campaign files and their results CSVs.
#include "pipelines/agent/campaign.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string_view>

#include "data/csv_line.hpp"
#include "data/error.hpp"
#include "data/json_input.hpp"
#include "data/log.hpp"
#include "data/msa_file.hpp"
#include "data/sequence.hpp"
#include "data/text_input.hpp"

namespace kfold::pipelines::agent {

namespace {

using Json = nlohmann::json;

struct Ctx {
  std::string file;
  [[noreturn]] void fail(const std::string& field, const std::string& message) const {
    fail_input("{}: field '{}': {}", file, field, message);
  }
};

const Json* find(const Json& obj, const char* key) {
  const auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string get_string(const Ctx& c, const Json& v, const std::string& field) {
  if (!v.is_string()) c.fail(field, "must be a string");
  return v.get<std::string>();
}

int64_t get_int(const Ctx& c, const Json& v, const std::string& field, int64_t lo, int64_t hi) {
  if (!v.is_number_integer() && !v.is_number_unsigned())
    c.fail(field, fmt::format("must be an integer in [{}, {}]", lo, hi));
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    c.fail(field, fmt::format("must be in [{}, {}] (got {})", lo, hi, v.get<uint64_t>()));
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) c.fail(field, fmt::format("must be in [{}, {}] (got {})", lo, hi, x));
  return x;
}

double get_number(const Ctx& c, const Json& v, const std::string& field) {
  if (!v.is_number()) c.fail(field, "must be a number");
  const double x = v.get<double>();
  if (!std::isfinite(x)) c.fail(field, "must be finite");
  return x;
}

void check_keys(const Ctx& c, const Json& obj, const std::string& field, std::initializer_list<const char*> known) {
  for (const auto& item : obj.items()) {
    const std::string& key = item.key();  // not a structured binding: clang 14 cannot capture those
    if (std::find_if(known.begin(), known.end(), [&](const char* k) { return key == k; }) == known.end()) {
      std::string list;
      for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      c.fail(field.empty() ? key : field + "." + key, "unknown key; known keys: " + list);
    }
  }
}

std::string check_sequence(const Ctx& c, const std::string& seq, const std::string& field) {
  if (seq.empty()) c.fail(field, "is empty; give the amino-acid sequence in one-letter code");
  std::string out;
  for (size_t k = 0; k < seq.size(); ++k) {
    const char ch = data::to_ascii_upper(seq[k]);
    if (data::is_space(seq[k]) || seq[k] == '\n') continue;
    if (!is_standard_amino_acid(ch)) {
      c.fail(field, fmt::format("character {} at position {} is not one of the 20 standard amino acids ({})",
                                data::char_for_message(seq[k]), k + 1, kAminoAcids));
    }
    out += ch;
  }
  return out;
}

// A regular file; false (not an exception) for any path the system rejects, e.g. a name too long.
bool is_file(const std::filesystem::path& path) {
  std::error_code error;
  return std::filesystem::is_regular_file(path, error);
}

// A construct well's name in a results file, "construct FIRST-LAST" as plate.csv writes it (residue numbers of
// the target, numbered from first_residue): InputError naming the line unless it is a fragment of the target.
void check_construct_cell(const std::string& cell, const Campaign& campaign, const std::string& where) {
  const std::string range = cell.substr(std::string("construct ").size());
  int64_t first = 0, last = 0;
  const char* end = range.data() + range.size();
  auto [p, ec] = std::from_chars(range.data(), end, first);
  bool ok = ec == std::errc() && p != end && *p == '-';
  if (ok) {
    const auto [q, ec2] = std::from_chars(p + 1, end, last);
    ok = ec2 == std::errc() && q == end;
  }
  const int64_t lo = campaign.target.first_residue;
  const int64_t hi = lo + static_cast<int64_t>(campaign.target.sequence.size()) - 1;
  if (!ok) fail_input("{}: '{}' is not a construct; plate.csv names them 'construct FIRST-LAST'", where, cell);
  if (first > last || first < lo || last > hi)
    fail_input("{}: '{}' is not a fragment of the target (residues {}..{})", where, cell, lo, hi);
}

// `cell` is `word` in any letter case.
bool is_word(std::string_view cell, std::string_view word) {
  return cell.size() == word.size() && std::equal(cell.begin(), cell.end(), word.begin(), [](char a, char b) {
           return data::to_ascii_upper(a) == data::to_ascii_upper(b);
         });
}

// A blank well's name in a results file: "blank" as plate.csv writes it (any case).
bool is_blank_cell(const std::string& cell) { return is_word(cell, "blank"); }

// A failed well as plate readers and spreadsheets export it: no value, NA, N/A or NaN.
bool is_missing_value(const std::string& cell) {
  return cell.empty() || is_word(cell, "na") || is_word(cell, "n/a") || is_word(cell, "nan");
}

// A finite number written as spreadsheets and plate readers export them ("1.5", "-2e-9", "+1.2"); nullopt
// for anything else.
std::optional<double> finite_number(std::string_view text) {
  const std::optional<double> v = data::parse_decimal(text);
  return v && std::isfinite(*v) ? v : std::nullopt;
}

// A results file's value or sd: InputError naming the line unless finite and within the range kfold computes with.
double parse_result_number(const std::string& text, const char* what, const std::string& where) {
  const std::optional<double> v = finite_number(text);
  if (!v) fail_input("{}: {} '{}' is not a finite number", where, what, text);
  // The surrogate and the scores square values and sds: past 1e100 (or under 1e-100) they overflow.
  if (*v != 0.0 && !(std::abs(*v) >= 1e-100 && std::abs(*v) <= 1e100))
    fail_input(
        "{}: {} {} is outside the range kfold computes with (0, or 1e-100 to 1e100 in magnitude); give "
        "the measurements in other units (e.g. their log10)",
        where, what, text);
  return *v;
}

// A results file's sd cell (empty: none given): a number >= 0.
std::optional<double> parse_result_sd(const std::vector<std::string>& cells, const std::string& where) {
  if (cells.size() < 3 || cells[2].empty()) return std::nullopt;
  const double sd = parse_result_number(cells[2], "sd", where);
  if (sd < 0.0) fail_input("{}: sd {} is negative; give a standard deviation >= 0", where, cells[2]);
  return sd;
}

// The first line of a results file that is not ours: a header of other words (a DMS table's "mutant,score") is
// named as such, not as a variant whose letters are not amino acids.
void check_results_header(const std::vector<std::string>& cells, std::string_view line, const std::string& where) {
  if (finite_number(cells[1]) || cells[0].rfind("construct ", 0) == 0 || is_blank_cell(cells[0])) return;
  try {
    parse_variant(cells[0], where);
    return;
  } catch (const InputError&) {
  }
  fail_input(
      "{}: the header must be 'variant,value' or 'variant,value,sd' (got '{}'): variants written A23P "
      "(multiples joined by ':'), values and sds numbers",
      where, line);
}

// Counts of a results file's rows that are not learned from, said once the file is read.
struct SkippedResults {
  int64_t constructs = 0;
  int64_t blanks = 0;
  int64_t missing = 0;  // rows without a value
  std::string first_missing;
  bool seen_line = false;  // a line other than blank or '#'

  void report(const std::filesystem::path& path, bool learned_any) const {
    if (missing > 0) {
      log_warn("{}: {} row(s) without a value (empty, NA or NaN: failed wells) not learned from, the first at {}",
               path.string(), missing, first_missing);
    }
    if (constructs > 0) {
      log_info("{}: {} construct result(s) not learned from (the surrogate models substitutions of the full length)",
               path.string(), constructs);
    }
    if (blanks > 0) {
      log_info("{}: {} blank result(s) not learned from (give values with the background subtracted)", path.string(),
               blanks);
    }
    if (!learned_any && constructs == 0 && blanks == 0) {
      log_warn(
          "{}: no measurements ({}); nothing is learned from this file: give one line per measured variant, "
          "variant,value[,sd]",
          path.string(),
          missing > 0 ? "only rows without a value"
          : seen_line ? "only the header"
                      : "the file is empty");
    }
  }
};

std::vector<Measurement> read_results_csv(const std::filesystem::path& path, const Campaign& campaign) {
  data::LineReader reader(path);
  std::vector<Measurement> out;
  SkippedResults skipped;
  std::string_view line;
  while (reader.next(line)) {
    if (line.empty() || line.front() == '#') continue;
    const std::string where = fmt::format("{}:{}", path.string(), reader.line_number());
    const auto split = data::split_csv_line(line);  // quoted cells too ("Q2A","1.5", as pandas may write them)
    if (!split) fail_input("{}: a quoted cell is not closed on its line", where);
    const std::vector<std::string>& cells = *split;
    if (cells.size() < 2 || cells.size() > 3) {
      fail_input("{}: expected 2 or 3 comma-separated columns (variant,value[,sd]), got {}{}", where, cells.size(),
                 data::separator_hint(line));
    }
    const bool first_line = !skipped.seen_line;
    skipped.seen_line = true;
    if (first_line && is_word(cells[0], "variant")) continue;  // header
    if (first_line) check_results_header(cells, line, where);
    // A construct or blank well of plate.csv: checked, not learned from.
    const bool construct = cells[0].rfind("construct ", 0) == 0;
    if (construct) check_construct_cell(cells[0], campaign, where);
    if (is_missing_value(cells[1])) {  // a failed well: skipped with a warning (the whole file was refused)
      if (!construct && !is_blank_cell(cells[0]))
        check_variant(parse_variant(cells[0], where), campaign.target.sequence, campaign.target.first_residue, where);
      if (skipped.missing++ == 0) skipped.first_missing = where;
      continue;
    }
    if (construct || is_blank_cell(cells[0])) {
      parse_result_number(cells[1], "value", where);
      parse_result_sd(cells, where);
      ++(construct ? skipped.constructs : skipped.blanks);
      continue;
    }
    Measurement m;
    m.source = where;
    m.variant = parse_variant(cells[0], where);
    check_variant(m.variant, campaign.target.sequence, campaign.target.first_residue, where);
    m.value = parse_result_number(cells[1], "value", where);
    m.sd = parse_result_sd(cells, where);
    out.push_back(std::move(m));
  }
  skipped.report(path, !out.empty());
  return out;
}

// Plates are compared through their wild-type wells: when the WT means of two results files differ by more
// than 4 times the spread of WT wells within a file, the files were likely read on different scales (another
// gain, another day), and the surrogate, which pools them, takes that offset for the variants' effects.
void warn_if_wild_type_controls_disagree(const Campaign& campaign) {
  std::map<std::string, std::vector<double>> wild_type;  // file -> its WT values
  for (const Measurement& m : campaign.measurements)
    if (m.variant.substitutions.empty()) wild_type[m.source.substr(0, m.source.rfind(':'))].push_back(m.value);
  double sum_squares = 0.0;
  int64_t freedom = 0;
  std::vector<std::pair<double, std::string>> means;  // (WT mean, file)
  for (const auto& [file, values] : wild_type) {
    const double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
    for (const double v : values) sum_squares += (v - mean) * (v - mean);
    freedom += static_cast<int64_t>(values.size()) - 1;
    means.emplace_back(mean, file);
  }
  if (means.size() < 2 || freedom < 4) return;  // fewer: the spread is too uncertain (1 in 5 same-scale plates warned)
  const double within_sd = std::sqrt(sum_squares / static_cast<double>(freedom));
  const auto [low, high] = std::minmax_element(means.begin(), means.end());
  if (high->first - low->first <= 4.0 * within_sd) return;
  log_warn(
      "results: the wild-type wells disagree between files: mean {:.4g} in {}, {:.4g} in {} (within a file their sd "
      "is {:.3g}); if the plates were read on different scales, normalise each file to its own WT wells (e.g. "
      "subtract their mean) before adding it: pooled, the offset reads as the variants' effects",
      low->first, low->second, high->first, high->second, within_sd);
}

// Replicates of one variant that disagree beyond their stated sds (chi-square of their weighted mean, Wilson-Hilferty's
// normal approximation, one-sided p < 0.001) are averaged all the same: most often a mislabelled or failed well, which
// the lab should see. Rows without an sd cannot be judged.
void warn_if_replicates_disagree(const Campaign& campaign) {
  std::map<std::string, std::vector<const Measurement*>> groups;
  for (const Measurement& m : campaign.measurements) groups[format_variant(m.variant)].push_back(&m);
  for (const auto& [variant, group] : groups) {
    if (variant == "WT" || group.size() < 2 ||
        !std::all_of(group.begin(), group.end(), [](auto* m) { return m->sd && *m->sd > 0.0; }))
      continue;
    double sum = 0.0, weights = 0.0;
    for (const Measurement* m : group) {
      sum += m->value / (*m->sd * *m->sd);
      weights += 1.0 / (*m->sd * *m->sd);
    }
    const double mean = sum / weights;
    double chi2 = 0.0;
    for (const Measurement* m : group) chi2 += std::pow((m->value - mean) / *m->sd, 2);
    const auto k = static_cast<double>(group.size() - 1);
    const double z = (std::cbrt(chi2 / k) - (1.0 - 2.0 / (9.0 * k))) / std::sqrt(2.0 / (9.0 * k));
    if (z <= 3.09) continue;
    std::string rows;
    for (const Measurement* m : group)
      rows += fmt::format("{}{} +/- {} ({})", rows.empty() ? "" : ", ", m->value, *m->sd, m->source);
    log_warn(
        "results: the {} replicates of {} disagree far beyond their sd (chi-square {:.1f} on {} degrees of freedom): "
        "{}; they are averaged (weighted mean {:.4g}); check for a mislabelled or failed well and remove it",
        group.size(), variant, chi2, group.size() - 1, rows, mean);
  }
}

// One variant per line (first comma-separated cell; header `variant` and '#' lines skipped), duplicates
// and variants that change a frozen residue dropped (with a warning), order kept.
std::vector<Variant> read_library(const std::filesystem::path& path, const Campaign& campaign) {
  data::LineReader reader(path);
  std::vector<Variant> out;
  std::set<std::string> seen;
  int64_t frozen_dropped = 0;
  std::string first_frozen;
  std::string_view line;
  while (reader.next(line)) {
    const auto cells = data::split_csv_line(line);
    const std::string cell = cells ? cells->front() : std::string(data::trim_spaces(line.substr(0, line.find(','))));
    if (cell.empty() || cell.front() == '#') continue;
    if (out.empty() && seen.empty() && cell == "variant") continue;
    const std::string where = fmt::format("{}:{}", path.string(), reader.line_number());
    Variant v = parse_variant(cell, where);
    check_variant(v, campaign.target.sequence, campaign.target.first_residue, where);
    if (static_cast<int64_t>(v.substitutions.size()) > campaign.max_mutations) {
      fail_input("{}: variant '{}' has {} substitutions, more than max_mutations {}", where, cell,
                 v.substitutions.size(), campaign.max_mutations);
    }
    const bool touches_frozen = std::any_of(v.substitutions.begin(), v.substitutions.end(),
                                            [&](const Substitution& s) { return is_frozen(campaign, s.position); });
    if (touches_frozen) {
      if (frozen_dropped++ == 0) first_frozen = fmt::format("{} at line {}", cell, reader.line_number());
      continue;
    }
    if (seen.insert(format_variant(v)).second) out.push_back(std::move(v));
  }
  if (frozen_dropped > 0) {
    log_warn("{}: {} variant(s) change a frozen residue and are not proposed (first: {})", path.string(),
             frozen_dropped, first_frozen);
  }
  if (out.empty())
    fail_input("{}: the library lists no variants{}", path.string(),
               frozen_dropped > 0 ? " outside the frozen residues" : "");
  return out;
}

// A path of the campaign file, resolved against the campaign file's folder.
using Resolve = std::function<std::filesystem::path(const std::string&)>;

// A partner's MSA must be one of the partner: its first row the partner's sequence (read now, so that a wrong file
// fails before any work, predictions or not).
void check_partner_msa(const Ctx& c, const PartnerChain& partner) {
  if (!is_file(partner.msa))
    c.fail("target.partner.msa", fmt::format("{} does not exist or is not a file", partner.msa.string()));
  std::string first;
  try {
    first = data::read_msa_file(partner.msa).sequences.front();
  } catch (const InputError& e) {
    c.fail("target.partner.msa", e.what());
  }
  if (first == partner.sequence) return;
  const auto [differs, _] = std::mismatch(first.begin(), first.end(), partner.sequence.begin(), partner.sequence.end());
  const auto at = static_cast<size_t>(differs - first.begin());
  c.fail("target.partner.msa",
         fmt::format("{}: its first row must be the partner's sequence (target.partner.sequence), as an MSA's query "
                     "row; it has {} residues to the partner's {}{}",
                     partner.msa.string(), first.size(), partner.sequence.size(),
                     at < std::min(first.size(), partner.sequence.size())
                         ? fmt::format(", and {} for {} at residue {}", first[at], partner.sequence[at], at + 1)
                         : std::string()));
}

// "target": the wild type (id, sequence, numbering), its family alignment or a database to search, a partner chain.
CampaignTarget parse_target(const Ctx& c, const Json& root, const Resolve& resolve) {
  CampaignTarget t;
  const Json* target = find(root, "target");
  if (!target || !target->is_object())
    c.fail("target", "missing or not an object; give {\"id\", \"sequence\", \"msa\"}");
  check_keys(c, *target, "target", {"id", "sequence", "msa", "db", "partner", "first_residue"});
  const Json* id = find(*target, "id");
  if (!id) c.fail("target.id", "missing");
  t.id = get_string(c, *id, "target.id");
  if (t.id.empty()) c.fail("target.id", "is empty");
  const Json* seq = find(*target, "sequence");
  if (!seq) c.fail("target.sequence", "missing; give the wild-type amino-acid sequence");
  t.sequence = check_sequence(c, get_string(c, *seq, "target.sequence"), "target.sequence");
  if (const Json* fr = find(*target, "first_residue")) {
    t.first_residue = get_int(c, *fr, "target.first_residue", -100000, 100000);
  }
  const Json* msa = find(*target, "msa");
  const Json* db = find(*target, "db");
  if (msa) t.msa = resolve(get_string(c, *msa, "target.msa"));
  if (db) t.db = resolve(get_string(c, *db, "target.db"));
  if (!msa && !db) {
    c.fail("target.msa",
           "missing; give the family alignment (A2M/A3M) of the target, or \"db\": a database to search for it");
  }
  if (msa && db) c.fail("target.db", "give either \"msa\" or \"db\", not both");
  if (const Json* partner = find(*target, "partner")) {
    if (!partner->is_object()) c.fail("target.partner", "must be an object {\"id\", \"sequence\"}");
    check_keys(c, *partner, "target.partner", {"id", "sequence", "msa"});
    PartnerChain p;
    const Json* pid = find(*partner, "id");
    const Json* pseq = find(*partner, "sequence");
    if (!pid || !pseq) c.fail("target.partner", "needs both \"id\" and \"sequence\"");
    p.id = get_string(c, *pid, "target.partner.id");
    if (p.id.empty()) c.fail("target.partner.id", "must name the partner (it labels the complex in the outputs)");
    p.sequence = check_sequence(c, get_string(c, *pseq, "target.partner.sequence"), "target.partner.sequence");
    if (const Json* pmsa = find(*partner, "msa")) {
      p.msa = resolve(get_string(c, *pmsa, "target.partner.msa"));
      check_partner_msa(c, p);
    }
    t.partner = p;
  }
  return t;
}

// "objective": term -> weight (stability alone when absent).
std::map<std::string, double> parse_objective(const Ctx& c, const Json& root) {
  std::map<std::string, double> weights;
  const Json* objective = find(root, "objective");
  if (!objective) {
    weights["stability"] = 1.0;
  } else {
    if (!objective->is_object() || objective->empty()) {
      c.fail("objective", "must be a non-empty object of term weights, e.g. {\"stability\": 1.0}");
    }
    for (const auto& item : objective->items()) {
      const std::string& term = item.key();  // not a structured binding: clang 14 cannot capture those
      const Json& weight = item.value();
      const bool known =
          std::any_of(std::begin(kObjectiveTerms), std::end(kObjectiveTerms), [&](const char* t) { return term == t; });
      if (!known) {
        std::string list;
        for (const char* t : kObjectiveTerms) list += (list.empty() ? "" : ", ") + std::string(t);
        c.fail("objective." + term, "unknown objective term; known terms: " + list);
      }
      const double w = get_number(c, weight, "objective." + term);
      if (w < 0.0) c.fail("objective." + term, "weights must be >= 0");
      weights[term] = w;
    }
  }
  return weights;
}

// "frozen": residue numbers of the target never mutated, sorted, each once.
std::vector<int64_t> parse_frozen(const Ctx& c, const Json& root, const CampaignTarget& target) {
  const int64_t first = target.first_residue;
  const int64_t last = first + static_cast<int64_t>(target.sequence.size()) - 1;
  if (const Json* frozen = find(root, "frozen")) {
    if (!frozen->is_array()) c.fail("frozen", "must be an array of residue numbers");
    std::set<int64_t> seen;
    for (size_t n = 0; n < frozen->size(); ++n) {
      seen.insert(get_int(c, (*frozen)[n], fmt::format("frozen[{}]", n), first, last));
    }
    return {seen.begin(), seen.end()};
  }
  return {};
}

// "plate": its format, the wells for controls, blanks and constructs, and how variants fill the rest.
PlateSpec parse_plate(const Ctx& c, const Json& root) {
  PlateSpec spec;
  if (const Json* plate = find(root, "plate")) {
    if (!plate->is_object()) c.fail("plate", "must be an object {\"size\", \"controls\"}");
    check_keys(
        c, *plate, "plate",
        {"size", "controls", "blanks", "constructs", "max_per_position", "explore_fraction", "similarity_penalty"});
    if (const Json* size = find(*plate, "size")) {
      spec.size = get_int(c, *size, "plate.size", 1, 384);
      if (spec.size != 24 && spec.size != 48 && spec.size != 96 && spec.size != 384) {
        c.fail("plate.size", fmt::format("{} is not a plate format; use 24, 48, 96 or 384", spec.size));
      }
    }
    if (const Json* controls = find(*plate, "controls")) {
      spec.controls = get_int(c, *controls, "plate.controls", 0, spec.size - 1);
    }
    if (const Json* blanks = find(*plate, "blanks")) {
      spec.blanks = get_int(c, *blanks, "plate.blanks", 0, spec.size - 1);
    }
    if (const Json* constructs = find(*plate, "constructs")) {
      spec.constructs = get_int(c, *constructs, "plate.constructs", 0, spec.size - 1);
    }
    if (const Json* cap = find(*plate, "max_per_position")) {
      spec.max_per_position = get_int(c, *cap, "plate.max_per_position", 1, 19);
    }
    if (const Json* f = find(*plate, "explore_fraction")) {
      spec.explore_fraction = get_number(c, *f, "plate.explore_fraction");
      if (spec.explore_fraction < 0.0 || spec.explore_fraction > 1.0) {
        c.fail("plate.explore_fraction", "must be in [0, 1] (share of the variant wells that explore)");
      }
    }
    if (const Json* pen = find(*plate, "similarity_penalty")) {
      spec.similarity_penalty = get_number(c, *pen, "plate.similarity_penalty");
      // The penalty is in units of the key's spread per shared substitution: 1000 already rules out any overlap.
      if (!(spec.similarity_penalty >= 0.0 && spec.similarity_penalty <= 1000.0))
        c.fail("plate.similarity_penalty",
               "must be in [0, 1000] (default 0.5; in spreads of the score per shared "
               "substitution)");
    }
  }
  if (spec.controls > spec.size - 1) {
    c.fail("plate.controls", fmt::format("must leave at least one well of {} for variants", spec.size));
  }
  if (spec.controls == 0) {
    log_warn(
        "{}: plate.controls is 0: the plate has no wild-type wells to normalise its measurements to (the "
        "default is {})",
        c.file, PlateSpec{}.controls);
  }
  // Defaults never take a well that the plate's own numbers need for variants.
  const Json* plate = find(root, "plate");
  const auto given = [&](const char* key) { return plate != nullptr && find(*plate, key) != nullptr; };
  if (!given("blanks")) spec.blanks = std::clamp<int64_t>(spec.size - 1 - spec.controls, 0, spec.blanks);
  if (spec.controls + spec.blanks > spec.size - 1) {
    c.fail("plate.blanks", fmt::format("{} control and {} blank wells leave no well of {} for variants", spec.controls,
                                       spec.blanks, spec.size));
  }
  if (!given("constructs")) {
    spec.constructs = std::clamp<int64_t>(spec.size - 1 - spec.controls - spec.blanks, 0, spec.constructs);
  }
  if (spec.controls + spec.blanks + spec.constructs > spec.size - 1) {
    c.fail("plate.constructs",
           fmt::format("{} control, {} blank and {} construct wells leave no well of {} for variants", spec.controls,
                       spec.blanks, spec.constructs, spec.size));
  }
  return spec;
}

// "evolution": the evolutionary model of the family.
EvolutionSpec parse_evolution(const Ctx& c, const Json& root) {
  EvolutionSpec spec;
  if (const Json* evo = find(root, "evolution")) {
    if (!evo->is_object()) c.fail("evolution", "must be an object");
    check_keys(c, *evo, "evolution", {"model", "potts_iterations", "identity"});
    if (const Json* m = find(*evo, "model")) {
      spec.model = get_string(c, *m, "evolution.model");
      if (spec.model != "auto" && spec.model != "potts" && spec.model != "site_independent") {
        c.fail("evolution.model", "must be \"auto\", \"potts\" or \"site_independent\"");
      }
    }
    if (const Json* it = find(*evo, "potts_iterations")) {
      spec.potts_iterations = get_int(c, *it, "evolution.potts_iterations", 1, kMaxPottsIterations);
    }
    if (const Json* id_ = find(*evo, "identity")) {
      spec.identity = get_number(c, *id_, "evolution.identity");
      if (spec.identity <= 0.0 || spec.identity > 1.0) c.fail("evolution.identity", "must be in (0, 1]");
    }
  }
  return spec;
}

// "acquisition": how the plate trades exploration for exploitation.
AcquisitionSpec parse_acquisition(const Ctx& c, const Json& root) {
  AcquisitionSpec spec;
  if (const Json* acq = find(root, "acquisition")) {
    if (!acq->is_object()) c.fail("acquisition", "must be an object, e.g. {\"type\": \"ucb\", \"beta\": 1.0}");
    check_keys(c, *acq, "acquisition", {"type", "beta"});
    if (const Json* t = find(*acq, "type")) {
      spec.type = get_string(c, *t, "acquisition.type");
      if (spec.type != "ucb" && spec.type != "thompson") {
        c.fail("acquisition.type", "must be \"ucb\" (mean + beta sd) or \"thompson\" (Thompson sampling)");
      }
    }
    if (const Json* b = find(*acq, "beta")) {
      spec.beta = get_number(c, *b, "acquisition.beta");
      // In predictive sds: 0 exploits, 2 to 3 is the usual exploration, 100 already ranks by the sd alone.
      if (!(spec.beta >= 0.0 && spec.beta <= 100.0))
        c.fail("acquisition.beta", "must be in [0, 100] (default 1; predictive sds added to the mean)");
    }
  }
  return spec;
}

// "surrogate": the ensemble fitted to the measurements.
SurrogateSpec parse_surrogate(const Ctx& c, const Json& root) {
  SurrogateSpec spec;
  if (const Json* sur = find(root, "surrogate")) {
    if (!sur->is_object()) c.fail("surrogate", "must be an object, e.g. {\"members\": 32}");
    check_keys(c, *sur, "surrogate", {"members", "min_measurements"});
    if (const Json* m = find(*sur, "members")) spec.members = get_int(c, *m, "surrogate.members", 2, 1024);
    if (const Json* m = find(*sur, "min_measurements")) {
      spec.min_measurements = get_int(c, *m, "surrogate.min_measurements", 2, 1000000);
    }
  }
  return spec;
}

}  // namespace

Campaign parse_campaign(const std::string& json_text, const std::filesystem::path& path) {
  const Ctx c{path.string()};
  const Json root = data::parse_json_input(json_text, path.string());
  if (!root.is_object()) fail_input("{}: the campaign must be a JSON object", path.string());
  check_keys(c, root, "",
             {"name", "target", "objective", "frozen", "max_mutations", "plate", "structure_budget", "seed", "results",
              "better", "evolution", "description", "library", "acquisition", "surrogate"});
  Campaign k;
  k.path = path;
  const std::filesystem::path dir = path.parent_path();
  const Resolve resolve = [&](const std::string& p) {
    const std::filesystem::path q(p);
    return q.is_absolute() ? q : dir / q;
  };

  const Json* name = find(root, "name");
  if (!name) c.fail("name", "missing; give the campaign a name, e.g. \"name\": \"ubq-stability\"");
  k.name = get_string(c, *name, "name");
  if (k.name.empty()) c.fail("name", "is empty");

  k.target = parse_target(c, root, resolve);
  k.objective = parse_objective(c, root);
  k.frozen = parse_frozen(c, root, k.target);
  if (const Json* mm = find(root, "max_mutations")) k.max_mutations = get_int(c, *mm, "max_mutations", 1, 20);
  k.plate = parse_plate(c, root);
  if (const Json* budget = find(root, "structure_budget")) {
    k.structure_budget = get_int(c, *budget, "structure_budget", 0, 1000000);
  }
  if (const Json* seed = find(root, "seed")) k.seed = static_cast<uint64_t>(get_int(c, *seed, "seed", 0, INT64_MAX));
  k.evolution = parse_evolution(c, root);
  k.acquisition = parse_acquisition(c, root);
  k.surrogate = parse_surrogate(c, root);
  if (const Json* lib = find(root, "library")) {
    k.library = resolve(get_string(c, *lib, "library"));
    if (!is_file(k.library)) {
      c.fail("library", fmt::format("{} does not exist or is not a file", k.library.string()));
    }
    k.library_variants = read_library(k.library, k);
  }
  if (const Json* better = find(root, "better")) {
    const std::string word = get_string(c, *better, "better");
    if (word != "higher" && word != "lower")
      c.fail("better", fmt::format("'{}': expected \"higher\" (the default: larger measured values are better) or "
                                   "\"lower\" (a Kd, an IC50: the values are negated as read)",
                                   word));
    k.lower_is_better = word == "lower";
  }
  if (const Json* results = find(root, "results")) {
    if (!results->is_array()) c.fail("results", "must be an array of CSV file names (variant,value[,sd])");
    for (size_t n = 0; n < results->size(); ++n) {
      const std::filesystem::path p = resolve(get_string(c, (*results)[n], fmt::format("results[{}]", n)));
      if (!is_file(p)) {
        c.fail(fmt::format("results[{}]", n), fmt::format("{} does not exist or is not a file", p.string()));
      }
      for (size_t earlier = 0; earlier < k.results.size(); ++earlier)
        if (std::error_code e; std::filesystem::equivalent(k.results[earlier], p, e))
          c.fail(fmt::format("results[{}]", n),
                 fmt::format("{} is results[{}] again: each file's measurements would count twice; list it once",
                             p.string(), earlier));
      k.results.push_back(p);
    }
  }
  for (const auto& p : k.results) {
    auto m = read_results_csv(p, k);
    k.measurements.insert(k.measurements.end(), std::make_move_iterator(m.begin()), std::make_move_iterator(m.end()));
  }
  warn_if_wild_type_controls_disagree(k);
  warn_if_replicates_disagree(k);
  if (k.lower_is_better)  // (after the warnings: they print the values as the files hold them)
    for (Measurement& m : k.measurements) m.value = -m.value;
  if (k.target.db.empty() && !is_file(k.target.msa)) {
    c.fail("target.msa", fmt::format("{} does not exist or is not a file", k.target.msa.string()));
  }
  return k;
}

int64_t measured_variant_count(const Campaign& campaign) {
  std::set<std::string> variants;
  for (const Measurement& m : campaign.measurements) variants.insert(format_variant(m.variant));
  return static_cast<int64_t>(variants.size());
}

std::string measured_direction_note(const Campaign& campaign) {
  return campaign.lower_is_better
             ? "The measured values are negated as read (the campaign's \"better\": \"lower\"): higher is better "
               "in every score, measured value and prediction of these outputs."
             : "";
}

bool is_frozen(const Campaign& campaign, int64_t residue) {
  return std::binary_search(campaign.frozen.begin(), campaign.frozen.end(), residue);
}

Campaign read_campaign(const std::filesystem::path& path) { return parse_campaign(data::read_text_file(path), path); }

std::vector<Measurement> replicate_means(const std::vector<Measurement>& measurements) {
  std::vector<double> variances;
  for (const Measurement& m : measurements)
    if (m.sd && *m.sd > 0.0) variances.push_back(*m.sd * *m.sd);  // exact rows aside: they have their own rule
  std::sort(variances.begin(), variances.end());
  const size_t half = variances.size() / 2;
  const double median_variance = variances.empty()           ? 0.0
                                 : variances.size() % 2 == 1 ? variances[half]
                                                             : 0.5 * (variances[half - 1] + variances[half]);
  std::vector<std::vector<const Measurement*>> groups;
  std::map<std::string, size_t> group_of;
  for (const Measurement& m : measurements) {
    const auto [it, added] = group_of.emplace(format_variant(m.variant), groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(&m);
  }
  std::vector<Measurement> out;
  out.reserve(groups.size());
  for (const auto& group : groups) {
    Measurement mean = *group.front();
    if (group.size() > 1) {
      std::vector<const Measurement*> exact;
      for (const Measurement* m : group)
        if (m->sd && *m->sd == 0.0) exact.push_back(m);
      const auto& used = exact.empty() ? group : exact;
      double sum = 0.0, weight_sum = 0.0;
      for (const Measurement* m : used) {
        const double variance = m->sd ? *m->sd * *m->sd : median_variance;
        const double w = exact.empty() && median_variance > 0.0 ? 1.0 / variance : 1.0;
        sum += w * m->value;
        weight_sum += w;
      }
      mean.value = sum / weight_sum;
      mean.sd.reset();
      if (!exact.empty())
        mean.sd = 0.0;
      else if (median_variance > 0.0)
        mean.sd = std::sqrt(1.0 / weight_sum);
      mean.source = fmt::format("mean of {}: {}", group.size(), group.front()->source);
      for (size_t k = 1; k < group.size(); ++k) mean.source += ", " + group[k]->source;
    }
    out.push_back(std::move(mean));
  }
  return out;
}

}  // namespace kfold::pipelines::agent
