// Template hits → AlphaFold's raw template features (see template_features.hpp).
#include "fold/template_features.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <optional>

#include "data/error.hpp"
#include "data/interrupt.hpp"
#include "data/log.hpp"
#include "data/residue_constants.hpp"
#include "data/sequence.hpp"

namespace kfold::fold {

namespace rc = data::rc;

namespace {

size_t idx(int64_t i) { return static_cast<size_t>(i); }

constexpr double kMaxCaCaDistance = 150.0;  // Angstrom, AlphaFold's max_ca_ca_distance

// Where `hit` starts in `chain` when every hit letter equals the chain's or the chain has X there, and
// an X in the hit matches anything (the fuzzy rule of templates._find_template_in_pdb); -1 if nowhere.
int64_t fuzzy_find(const std::string& chain, const std::string& hit) {
  if (hit.size() > chain.size()) return -1;
  for (size_t start = 0; start + hit.size() <= chain.size(); ++start) {
    size_t i = 0;
    while (i < hit.size() && (hit[i] == 'X' || chain[start + i] == hit[i] || chain[start + i] == 'X')) ++i;
    if (i == hit.size()) return static_cast<int64_t>(start);
  }
  return -1;
}

// Global alignment of `a` to `b` (end gaps free; match 2, X 0, mismatch -1, gap -2): index of b
// aligned to each residue of a (-1: none) and the number of identical pairs.
std::pair<std::vector<int64_t>, int64_t> align_global(const std::string& a, const std::string& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<int32_t> score((n + 1) * (m + 1), 0);
  const auto at = [&](size_t i, size_t j) -> int32_t& { return score[i * (m + 1) + j]; };
  const auto pair_score = [](char x, char y) { return x == 'X' || y == 'X' ? 0 : x == y ? 2 : -1; };
  constexpr int32_t kGap = -2;
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      const int32_t gap_a = at(i - 1, j) + (j == m ? 0 : kGap), gap_b = at(i, j - 1) + (i == n ? 0 : kGap);
      at(i, j) = std::max({at(i - 1, j - 1) + pair_score(a[i - 1], b[j - 1]), gap_a, gap_b});
    }
  std::vector<int64_t> a_to_b(n, -1);
  int64_t same = 0;
  size_t i = n, j = m;
  while (i > 0 && j > 0) {
    if (at(i, j) == at(i - 1, j - 1) + pair_score(a[i - 1], b[j - 1])) {
      a_to_b[i - 1] = static_cast<int64_t>(j - 1);
      same += a[i - 1] == b[j - 1];
      --i, --j;
    } else if (at(i, j) == at(i - 1, j) + (j == m ? 0 : kGap)) {
      --i;
    } else {
      --j;
    }
  }
  return {a_to_b, same};
}

// An entry's mmCIF file in `dir`, flat or in the PDB's divided layout (lower case as the PDB writes
// them, then upper case as some mirrors do).
std::optional<std::filesystem::path> find_mmcif(const std::filesystem::path& dir, const std::string& pdb_id) {
  std::string upper = pdb_id;
  for (char& c : upper) c = data::to_ascii_upper(c);
  for (const std::string& id : {pdb_id, upper})
    for (const std::filesystem::path& folder : {dir, dir / id.substr(1, 2)})
      for (const char* extension : {".cif", ".cif.gz"})
        if (std::filesystem::is_regular_file(folder / (id + extension))) return folder / (id + extension);
  return std::nullopt;
}

template <typename... Args>
[[noreturn]] void fail_folder(fmt::format_string<Args...> format, Args&&... args) {
  throw TemplateFolderError(fmt::format(format, std::forward<Args>(args)...));
}

// Whether `dir` (or one of its two-letter subfolders, the PDB's divided layout) holds a file named *.cif or
// *.cif.gz, any case: stops at the first.
bool holds_mmcif_files(const std::filesystem::path& dir) {
  const auto is_mmcif = [](const std::filesystem::directory_entry& entry) {
    std::string name = entry.path().filename().string();
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::error_code error;
    return (name.ends_with(".cif") || name.ends_with(".cif.gz")) && entry.is_regular_file(error);
  };
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (is_mmcif(entry)) return true;
    if (entry.path().filename().string().size() == 2 && entry.is_directory(error)) {
      for (const auto& inner : std::filesystem::directory_iterator(entry.path(), error))
        if (is_mmcif(inner)) return true;
    }
  }
  return false;
}

// YYYY-MM-DD naming a day of the calendar (2022-02-29 and 2022-13-45 do not).
bool is_iso_date(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return false;
  const std::chrono::year_month_day day{std::chrono::year(std::stoi(s.substr(0, 4))),
                                        std::chrono::month(static_cast<unsigned>(std::stoi(s.substr(5, 2)))),
                                        std::chrono::day(static_cast<unsigned>(std::stoi(s.substr(8, 2))))};
  return day.ok();
}

}  // namespace

// "1abc_A ..." → ("1abc", "A"), as templates._get_pdb_id_and_chain; nullopt for other names.
std::optional<std::pair<std::string, std::string>> pdb_id_and_chain(const std::string& name) {
  const auto alnum = [](char c) { return data::is_ascii_letter(c) || (c >= '0' && c <= '9'); };
  if (name.size() < 6 || name[4] != '_' || !std::all_of(name.begin(), name.begin() + 4, alnum)) return std::nullopt;
  size_t end = 5;
  while (end < name.size() && (alnum(name[end]) || name[end] == '.')) ++end;
  if (end == 5) return std::nullopt;
  std::string id = name.substr(0, 4);
  std::transform(id.begin(), id.end(), id.begin(), data::to_ascii_lower);
  return std::make_pair(id, name.substr(5, end - 5));
}

TemplateFeatures extract_template_features(const data::TemplateStructure& structure, const std::string& pdb_id,
                                           const std::string& chain_id, const TemplateHit& hit,
                                           const std::string& query_sequence) {
  if (structure.chains.empty()) throw TemplateError(fmt::format("no chains in {}_{}", pdb_id, chain_id));
  // _find_template_in_pdb: the hit's residues in the named chain, in any chain, then fuzzily.
  const data::TemplateChain* chain = nullptr;
  int64_t offset = -1;
  std::string template_sequence = hit.sequence;
  std::vector<std::pair<int64_t, int64_t>> mapping = hit.mapping;
  if (const data::TemplateChain* named = structure.chain(chain_id)) {
    const size_t at = named->sequence.find(hit.sequence);
    if (at != std::string::npos) chain = named, offset = static_cast<int64_t>(at);
  }
  for (size_t c = 0; !chain && c < structure.chains.size(); ++c) {
    const size_t at = structure.chains[c].sequence.find(hit.sequence);
    if (at != std::string::npos) chain = &structure.chains[c], offset = static_cast<int64_t>(at);
  }
  for (size_t c = 0; !chain && c < structure.chains.size(); ++c) {
    const int64_t at = fuzzy_find(structure.chains[c].sequence, hit.sequence);
    if (at >= 0) chain = &structure.chains[c], offset = at;
  }
  if (!chain) {
    // _realign_pdb_template_to_query: the database's sequence differs from the file's SEQRES.
    chain = structure.chain(chain_id);
    if (!chain && structure.chains.size() == 1) chain = &structure.chains.front();
    if (!chain) throw TemplateError(fmt::format("chain {} is not a protein chain of {}", chain_id, structure.source));
    const auto [old_to_new, same] = align_global(hit.sequence, chain->sequence);
    const auto shorter = std::min(hit.sequence.size(), chain->sequence.size());
    if (shorter == 0 || static_cast<double>(same) / static_cast<double>(shorter) < 0.9)
      throw TemplateError(fmt::format("the hit's sequence is less than 90 % identical to chain {}'s SEQRES in {}",
                                      chain_id, structure.source));
    for (auto& [query_index, template_index] : mapping) {
      if (template_index < 0 || template_index >= static_cast<int64_t>(old_to_new.size()))
        throw TemplateError(
            fmt::format("template index {} outside the hit's {} residues", template_index, old_to_new.size()));
      template_index = old_to_new[idx(template_index)];
    }
    template_sequence = chain->sequence;
    offset = 0;
    log_warn("template {}_{}: the database's sequence is not the file's SEQRES; realigned", pdb_id, chain_id);
  }

  // _check_residue_distances: neighbouring SEQRES residues whose CA atoms are over 150 A apart (a damaged or
  // mis-placed entry) drop the template, as AlphaFold drops it.
  constexpr int64_t kCa = 1;  // atom37 index
  for (int64_t r = 1; r < chain->n_res(); ++r) {
    if (chain->atom_mask[idx((r - 1) * rc::atom_type_num + kCa)] == 0 ||
        chain->atom_mask[idx(r * rc::atom_type_num + kCa)] == 0)
      continue;
    double squared = 0;
    for (int64_t x = 0; x < 3; ++x) {
      const double d = double{chain->atom_positions[idx((r * rc::atom_type_num + kCa) * 3 + x)]} -
                       chain->atom_positions[idx(((r - 1) * rc::atom_type_num + kCa) * 3 + x)];
      squared += d * d;
    }
    if (squared > kMaxCaCaDistance * kMaxCaCaDistance)
      throw TemplateError(
          fmt::format("the CA atoms of SEQRES residues {} and {} of chain {} are {:.1f} A apart (over "
                      "{:.0f} A: a damaged entry, which AlphaFold drops too)",
                      r, r + 1, chain->id, std::sqrt(squared), kMaxCaCaDistance));
  }

  const int64_t n_res = static_cast<int64_t>(query_sequence.size());
  TemplateFeatures out;
  out.n_templates = 1;
  out.n_res = n_res;
  out.aatype.assign(idx(n_res * kTemplateAatypeChannels), 0.0f);
  out.all_atom_masks.assign(idx(n_res * rc::atom_type_num), 0.0f);
  out.all_atom_positions.assign(idx(n_res * rc::atom_type_num * 3), 0.0f);
  std::string letters(idx(n_res), '-');
  double mask_sum = 0.0;
  for (const auto& [q, t] : mapping) {
    if (q < 0 || q >= n_res) throw TemplateError(fmt::format("query index {} outside the query", q));
    if (t < 0) {  // AlphaFold indexes with -1 here: its last residue (a realignment artefact); we leave it empty
      continue;
    }
    const int64_t r = t + offset;
    if (r >= chain->n_res() || t >= static_cast<int64_t>(template_sequence.size()))
      throw TemplateError(fmt::format("template index {} outside chain {}", r, chain->id));
    std::copy_n(chain->atom_mask.begin() + r * rc::atom_type_num, rc::atom_type_num,
                out.all_atom_masks.begin() + q * rc::atom_type_num);
    std::copy_n(chain->atom_positions.begin() + r * rc::atom_type_num * 3, rc::atom_type_num * 3,
                out.all_atom_positions.begin() + q * rc::atom_type_num * 3);
    letters[idx(q)] = template_sequence[idx(t)];
  }
  for (const float m : out.all_atom_masks) mask_sum += m;
  // Alanine, the residue with the fewest atoms, has 5.
  if (mask_sum < 5) throw TemplateError(fmt::format("no atoms of {}_{} face the query", pdb_id, chain->id));
  for (int64_t r = 0; r < n_res; ++r) {
    const int64_t id = rc::hhblits_aa_to_id(letters[idx(r)]);
    if (id < 0) throw TemplateError(fmt::format("template letter '{}' is not an amino acid", letters[idx(r)]));
    out.aatype[idx(r * kTemplateAatypeChannels + id)] = 1.0f;
  }
  out.domain_names = {pdb_id + "_" + chain->id};
  out.sequence = {letters};
  out.sum_probs = {0.0F};  // AlphaFold writes 0 for search hits without HHsearch probabilities (hmmsearch)
  return out;
}

std::string prefilter_template_hit(const TemplateHit& hit, std::string_view query_sequence, std::string_view what) {
  const double query_length = static_cast<double>(query_sequence.size());
  const double align_ratio = static_cast<double>(hit.aligned_cols) / query_length;
  const double length_ratio = static_cast<double>(hit.sequence.size()) / query_length;
  if (align_ratio <= 0.1) return fmt::format("aligned to {:.1f} % of {} (needs > 10 %)", 100 * align_ratio, what);
  if (length_ratio > 0.95 && query_sequence.find(hit.sequence) != std::string_view::npos)
    return fmt::format("{}'s own sequence (an exact subsequence covering > 95 % of it)", what);
  if (hit.sequence.size() < 10) return fmt::format("too short ({} residues)", hit.sequence.size());
  return {};
}

void append_templates(TemplateFeatures& into, const TemplateFeatures& more) {
  if (more.n_templates == 0) return;
  if (into.n_templates == 0) {
    into = more;
    return;
  }
  if (into.n_res != more.n_res)
    fail_internal("templates of {} and {} residues cannot be stacked", into.n_res, more.n_res);
  const auto add = [](auto& a, const auto& b) { a.insert(a.end(), b.begin(), b.end()); };
  add(into.aatype, more.aatype);
  add(into.all_atom_masks, more.all_atom_masks);
  add(into.all_atom_positions, more.all_atom_positions);
  add(into.domain_names, more.domain_names);
  add(into.sequence, more.sequence);
  add(into.sum_probs, more.sum_probs);
  into.n_templates += more.n_templates;
}

// Messages name the command line's options (Python's parameters: mmcif_dir, max_template_date, max_hits).
void check_featurizer_options(const TemplateFeaturizerOptions& options) {
  if (!std::filesystem::is_directory(options.mmcif_dir))
    fail_input("--template-mmcif-dir: the template mmCIF folder {} {} (give the folder of <pdb id>.cif[.gz] files)",
               options.mmcif_dir.string(),
               std::filesystem::exists(options.mmcif_dir) ? "is a file, not a folder" : "does not exist");
  if (!options.max_template_date.empty() && !is_iso_date(options.max_template_date))
    fail_input("--max-template-date '{}' is not a date: use YYYY-MM-DD", options.max_template_date);
  if (options.max_hits < 1) fail_input("--max-template-hits must be at least 1 (is {})", options.max_hits);
}

void check_mmcif_folder_contents(const std::filesystem::path& mmcif_dir) {
  if (!holds_mmcif_files(mmcif_dir))
    throw TemplateFolderError(fmt::format(
        "--template-mmcif-dir {}: holds no .cif or .cif.gz file, nor do its two-letter subfolders (the PDB's divided "
        "layout): give the folder of the PDB's mmCIF files (<pdb id>.cif[.gz])",
        mmcif_dir.string()));
}

namespace {

// The chain (index into the complex's chains, in order) holding most of the hit's aligned query residues
// (the first such chain on a tie); chain_end[c] is the end of chain c (query indices).
size_t templated_chain(const TemplateHit& hit, const std::vector<int64_t>& chain_end) {
  std::vector<int64_t> count(chain_end.size(), 0);
  for (const auto& [query_index, template_index] : hit.mapping) {
    const auto chain = std::upper_bound(chain_end.begin(), chain_end.end(), query_index) - chain_end.begin();
    if (static_cast<size_t>(chain) < count.size()) ++count[static_cast<size_t>(chain)];
  }
  return static_cast<size_t>(std::max_element(count.begin(), count.end()) - count.begin());
}

}  // namespace

TemplateSearchResult featurize_template_hits(const std::string& query_sequence, std::vector<TemplateHit> hits,
                                             const TemplateFeaturizerOptions& options,
                                             const std::vector<int32_t>& asym_id) {
  check_featurizer_options(options);
  std::stable_sort(hits.begin(), hits.end(),
                   [](const TemplateHit& a, const TemplateHit& b) { return a.score > b.score; });
  // A complex: each hit is judged against the chain it templates (AlphaFold-Multimer searches each chain
  // alone; against the joined query a peptide partner's full-length hit was "aligned to 9.5 %"), and the
  // chains take turns, best hit first within each, so that one chain's hits cannot fill every template slot.
  std::vector<int64_t> chain_end;  // (asym_id: contiguous chains, checked where it was made)
  for (size_t i = 0; i < asym_id.size(); ++i)
    if (i + 1 == asym_id.size() || asym_id[i + 1] != asym_id[i]) chain_end.push_back(static_cast<int64_t>(i) + 1);
  std::vector<size_t> hit_chain(hits.size(), 0);
  if (chain_end.size() > 1 && static_cast<size_t>(chain_end.back()) == query_sequence.size()) {
    std::vector<size_t> rank(hits.size()), seen(chain_end.size(), 0);
    for (size_t i = 0; i < hits.size(); ++i) {
      hit_chain[i] = templated_chain(hits[i], chain_end);
      rank[i] = seen[hit_chain[i]]++;
    }
    std::vector<size_t> order(hits.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rank[a] < rank[b]; });
    std::vector<TemplateHit> by_turns;
    std::vector<size_t> chain_of;
    for (const size_t i : order) {
      by_turns.push_back(std::move(hits[i]));
      chain_of.push_back(hit_chain[i]);
    }
    hits = std::move(by_turns);
    hit_chain = std::move(chain_of);
  } else {
    chain_end = {static_cast<int64_t>(query_sequence.size())};
  }
  const auto chain_sequence = [&](size_t c) {
    const int64_t start = c == 0 ? 0 : chain_end[c - 1];
    return std::string_view(query_sequence)
        .substr(static_cast<size_t>(start), static_cast<size_t>(chain_end[c] - start));
  };

  // Each entry's file is read once (a failure too) and freed after its last hit.
  struct Entry {
    std::shared_ptr<const data::TemplateStructure> structure;
    std::string error;  // why the file gave no structure
    bool looked_up = false, read = false, missing = false;
    int undated_warned = 0;
    size_t last_hit = 0;
  };
  std::map<std::string, Entry> entries;
  for (size_t i = 0; i < hits.size(); ++i)
    if (const auto id = pdb_id_and_chain(hits[i].name)) entries[id->first].last_hit = i;
  // The PDB holds many entries of one sequence (homo-oligomers, much-studied proteins): a hit with the same
  // sequence and alignment as a template already kept would give the same template letters, which AlphaFold
  // drops, so it is skipped without reading its file.
  std::map<std::pair<std::string, std::vector<std::pair<int64_t, int64_t>>>, std::string> kept;  // → its name
  int64_t looked_up = 0, files_missing = 0;  // hits that needed a file, and those whose file was missing
  std::string first_missing, first_unreadable;
  TemplateSearchResult out;
  for (size_t i = 0; i < hits.size() && out.features.n_templates < options.max_hits; ++i) {
    check_interrupt();
    if (options.check_cancelled) options.check_cancelled();
    const TemplateHit& hit = hits[i];
    const auto skip = [&](std::string reason) { out.skipped.push_back({hit.name, std::move(reason)}); };
    const auto id = pdb_id_and_chain(hit.name);
    if (!id) {
      skip("not a PDB chain name (<pdb id>_<chain>, as in pdb_seqres.txt)");
      continue;
    }
    const auto& [pdb_id, chain_id] = *id;
    const std::string what =
        chain_end.size() > 1 ? fmt::format("chain {} of the query", hit_chain[i] + 1) : "the query";
    if (std::string reason = prefilter_template_hit(hit, chain_sequence(hit_chain[i]), what); !reason.empty()) {
      skip(std::move(reason));
      continue;
    }
    if (const auto same = kept.find({hit.sequence, hit.mapping}); same != kept.end()) {
      skip(fmt::format("the same sequence and alignment as template {}", same->second));
      continue;
    }
    ++looked_up;
    Entry& entry = entries[pdb_id];
    entry.looked_up = true;
    if (!entry.structure && entry.error.empty()) {
      // A missing or damaged file is the database's problem, not the hit's: said once, at warning level.
      if (const auto path = find_mmcif(options.mmcif_dir, pdb_id); !path) {
        entry.missing = true;
        entry.error = fmt::format("no {}.cif[.gz] in {} (nor in its {}/ subfolder)", pdb_id, options.mmcif_dir.string(),
                                  pdb_id.substr(1, 2));
      } else {
        try {
          entry.structure = std::make_shared<const data::TemplateStructure>(data::read_template_structure(*path));
        } catch (const InputError& e) {
          entry.error = e.what();
        }
      }
      if (!entry.structure) log_warn("template {} skipped: {}", pdb_id, entry.error);
      if (!entry.structure && !entry.missing && first_unreadable.empty()) first_unreadable = entry.error;
      entry.read = entry.structure != nullptr;
    }
    const std::shared_ptr<const data::TemplateStructure> structure = entry.structure;
    if (i == entry.last_hit) entry.structure.reset();
    if (!structure) {
      if (entry.missing && files_missing++ == 0) first_missing = pdb_id;
      skip(entry.error);
      continue;
    }
    if (!options.max_template_date.empty() && structure->release_date.empty()) {
      // Its date cannot be checked (AlphaFold fails on such a file): were it kept, a later structure could leak
      // into a benchmark. Said once per file, at warning level.
      if (entry.undated_warned++ == 0)
        log_warn(
            "template {} skipped: {} gives no release date (_pdbx_audit_revision_history, _database_PDB_rev), "
            "so --max-template-date cannot be checked",
            pdb_id, structure->source);
      skip("no release date in its mmCIF file to check against the max template date");
      continue;
    }
    if (!options.max_template_date.empty() && structure->release_date > options.max_template_date) {
      skip(fmt::format("released {}, after the max template date {}", structure->release_date,
                       options.max_template_date));
      continue;
    }
    try {
      TemplateFeatures features = extract_template_features(*structure, pdb_id, chain_id, hit, query_sequence);
      const auto& seen = out.features.sequence;
      if (std::find(seen.begin(), seen.end(), features.sequence.front()) != seen.end()) {
        skip("the same template residues as an earlier hit");  // homo-oligomers' identical chains
        continue;
      }
      append_templates(out.features, features);
      kept.try_emplace({hit.sequence, hit.mapping}, pdb_id + "_" + chain_id);
    } catch (const TemplateError& e) {
      skip(e.what());
    }
  }
  // Not one file found: the folder is wrong, not the hits (a run without templates would be silent).
  if (looked_up > 0 && files_missing == looked_up)
    fail_folder(
        "template mmCIF folder {}: not one of the {} template hits' files is there (for {}: {}.cif[.gz], "
        "also in the PDB's divided layout {}/): give the folder of the PDB's mmCIF files "
        "(--template-mmcif-dir)",
        options.mmcif_dir.string(), looked_up, first_missing, first_missing, first_missing.substr(1, 2));
  // Not one file readable among several entries (damaged, cut or misnamed downloads): a run without templates
  // would look like success. One entry's damaged file is skipped with its warning, as AlphaFold skips it.
  int64_t entries_looked_up = 0, entries_read = 0, entries_missing = 0;
  for (const auto& [pdb_id, entry] : entries) {
    entries_looked_up += entry.looked_up;
    entries_read += entry.read;
    entries_missing += entry.looked_up && entry.missing;
  }
  if (entries_looked_up >= 2 && entries_read == 0)
    fail_folder(
        "template mmCIF folder {}: none of the {} entries of the template hits could be read ({} missing, {} "
        "unreadable), so the run would go on without templates; the first unreadable one: {}. Replace those files, "
        "or run without --template-db",
        options.mmcif_dir.string(), entries_looked_up, entries_missing, entries_looked_up - entries_missing,
        first_unreadable);
  return out;
}

}  // namespace kfold::fold
