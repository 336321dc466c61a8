// make_raw_features: AlphaFold's sequence + MSA feature construction, and features.h5 I/O.
#include "fold/raw_features.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string_view>
#include <unordered_set>

#include "data/error.hpp"
#include "data/hdf5_file.hpp"
#include "data/interrupt.hpp"
#include "data/log.hpp"
#include "data/residue_constants.hpp"
#include "data/structure_io.hpp"
#include "fold/complex_features.hpp"

namespace kfold::fold {

namespace rc = data::rc;

namespace {

bool is_alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool all_of(std::string_view s, bool (*pred)(char)) { return !s.empty() && std::all_of(s.begin(), s.end(), pred); }

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t p = s.find(sep); p != std::string_view::npos; p = s.find(sep, start)) {
    parts.push_back(s.substr(start, p - start));
    start = p + 1;
  }
  parts.push_back(s.substr(start));
  return parts;
}

}  // namespace

std::string species_identifier(const std::string& description) {
  // First whitespace-separated word, up to the first '/' (AlphaFold's _extract_sequence_identifier).
  const size_t begin = description.find_first_not_of(" \t\r\n\f\v");
  if (begin == std::string::npos) return "";
  const size_t end = description.find_first_of(" \t\r\n\f\v", begin);
  std::string_view id(description);
  id = id.substr(begin, end == std::string::npos ? std::string_view::npos : end - begin);
  id = id.substr(0, id.find('/'));
  // AlphaFold's _UNIPROT_PATTERN, ^(?:tr|sp)\|ACC(?:_\d)?\|NAME_SPECIES(?:_\d+)?$ with ACC = [A-Za-z0-9]{6,10},
  // NAME = [A-Za-z0-9]+, SPECIES = [A-Za-z0-9]{1,5}. No '_' in NAME, so the fields split on '|' and '_'.
  const auto fields = split(id, '|');
  if (fields.size() != 3 || (fields[0] != "tr" && fields[0] != "sp")) return "";
  const auto accession = split(fields[1], '_');
  if (accession.size() > 2 || accession[0].size() < 6 || accession[0].size() > 10 || !all_of(accession[0], is_alnum))
    return "";
  if (accession.size() == 2 && (accession[1].size() != 1 || !is_digit(accession[1][0]))) return "";
  const auto entry = split(fields[2], '_');
  if (entry.size() < 2 || entry.size() > 3 || !all_of(entry[0], is_alnum) || !all_of(entry[1], is_alnum) ||
      entry[1].size() > 5)
    return "";
  if (entry.size() == 3 && !all_of(entry[2], is_digit)) return "";
  return std::string(entry[1]);
}

namespace {

std::string to_upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

// Whether an MSA's first row may hold `in_msa` where the query has `in_query`. Letters the model reads as unknown
// (X) in the query match anything (search tools write U, O, B, Z, J as X); in the MSA X, O and J (X among HHblits
// ids) match anything, while B, Z and U match only D, E and C, what HHblits ids read them as (row 0 of 'msa' must
// equal 'aatype', check_raw_feature_values: a D->N mutation made in aatype alone must not pass as a B).
bool msa_letter_may_be(char in_msa, char in_query) {
  if (in_msa == in_query || std::string_view("XUOBZJ").find(in_query) != std::string_view::npos) return true;
  switch (in_msa) {
    case 'X':
    case 'O':
    case 'J':
      return true;
    case 'B':
      return in_query == 'D';
    case 'Z':
      return in_query == 'E';
    case 'U':
      return in_query == 'C';
    default:
      return false;
  }
}

}  // namespace

void check_msa_matches_query(const data::Msa& msa, const std::string& query, const std::string& source) {
  if (msa.depth() == 0) fail_input("{}: MSA has no sequences; the first row must be the query", source);
  if (msa.length() != static_cast<int64_t>(query.size())) {
    if (!msa.chain_lengths.empty())
      fail_input(
          "{}: a ColabFold complex A3M of chains of {} residues ({} columns), but the query has {}: give the chains "
          "joined in one FASTA record, as its query row",
          source, fmt::join(msa.chain_lengths, " + "), msa.length(), query.size());
    // An aligned FASTA (MAFFT, Clustal Omega, Jalview): the query row has gap columns, which A3M has not.
    std::string residues = to_upper(msa.sequences.front());
    const auto gaps = std::erase(residues, '-');
    if (gaps > 0 && residues == query)
      fail_input(
          "{}: the query row (first record) has {} gap columns: an aligned FASTA, not A3M (where the query has no "
          "gaps and other rows' residues in its gap columns are lowercase insertions); convert it, e.g. hhsuite's "
          "reformat.pl fas a3m -M first",
          source, gaps);
    fail_input("{}: MSA has {} columns but the query has {} residues; was it made for another sequence?", source,
               msa.length(), query.size());
  }
  const std::string row = to_upper(msa.sequences.front());
  for (size_t i = 0; i < row.size(); ++i) {
    if (msa_letter_may_be(row[i], query[i])) continue;
    fail_input(
        "{}: the MSA's first row ('{}') differs from the query sequence at residue {} ('{}' in the MSA, '{}' in the "
        "query); an MSA must start with its query",
        source, msa.descriptions.empty() ? std::string("?") : msa.descriptions.front(), i + 1, row[i], query[i]);
  }
}

RawFeatures make_raw_features(const data::Sequence& query, const std::vector<data::Msa>& msas,
                              const std::vector<std::string>& msa_sources,
                              const std::function<void()>& check_cancelled) {
  RawFeatures f;
  f.sequence = to_upper(query.residues);
  f.n_res = static_cast<int64_t>(f.sequence.size());
  if (f.n_res == 0) fail_input("query '{}' has no residues", query.id);
  // The whole header line, as AlphaFold's pipeline passes the FASTA description to make_sequence_features.
  f.domain_name = query.description.empty() ? query.id : query.id + " " + query.description;

  f.aatype.assign(static_cast<size_t>(f.n_res * rc::restype_num_with_x), 0);
  std::vector<std::string> unknown;  // letters other than the 20 amino acids and X: "12 U"
  for (int64_t i = 0; i < f.n_res; ++i) {
    const char letter = f.sequence[static_cast<size_t>(i)];
    const int64_t aa = rc::aatype_from_letter(letter);
    f.aatype[static_cast<size_t>(i * rc::restype_num_with_x + aa)] = 1;
    if (aa == rc::unk_restype_index && letter != 'X') unknown.push_back(fmt::format("{} {}", i + 1, letter));
  }
  if (!unknown.empty())
    log_warn(
        "query '{}': {} residue(s) not among the 20 amino acids ({}{}) are modelled as unknown (X: no atoms in the "
        "structure), as AlphaFold does; for selenocysteine (U) give C, for pyrrolysine (O) K, for B and Z the residue "
        "meant (D or N, E or Q)",
        query.id, unknown.size(),
        fmt::join(unknown.begin(), unknown.begin() + std::min<size_t>(unknown.size(), 5), ", "),
        unknown.size() > 5 ? ", ..." : "");
  f.between_segment_residues.assign(static_cast<size_t>(f.n_res), 0);
  f.residue_index.resize(static_cast<size_t>(f.n_res));
  for (int64_t i = 0; i < f.n_res; ++i) f.residue_index[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  f.seq_length.assign(static_cast<size_t>(f.n_res), static_cast<int32_t>(f.n_res));

  std::vector<data::Msa> single;
  const std::vector<data::Msa>* sources = &msas;
  if (msas.empty()) {
    data::Msa msa;
    msa.sequences.push_back(f.sequence);
    msa.deletion_matrix.emplace_back(static_cast<size_t>(f.n_res), 0);
    msa.descriptions.push_back(query.id);
    single.push_back(std::move(msa));
    sources = &single;
  }
  std::unordered_set<std::string> seen;
  for (size_t m = 0; m < sources->size(); ++m) {
    const data::Msa& msa = (*sources)[m];
    const std::string source = m < msa_sources.size() ? msa_sources[m] : fmt::format("MSA {}", m + 1);
    check_msa_matches_query(msa, f.sequence, source);
    for (int64_t r = 0; r < msa.depth(); ++r) {
      if (r % 4096 == 4095) {
        check_interrupt();
        if (check_cancelled) check_cancelled();
      }
      const std::string& row = msa.sequences[static_cast<size_t>(r)];
      if (!seen.insert(row).second) continue;  // DeepMind AlphaFold: drop rows seen before
      for (const char c : row) {
        const int64_t id = rc::hhblits_aa_to_id(c);
        if (id < 0) fail_input("{}: row {} has letter '{}' outside the MSA alphabet", source, r + 1, c);
        f.msa.push_back(static_cast<int32_t>(id));
      }
      const auto& deletions = msa.deletion_matrix[static_cast<size_t>(r)];
      f.deletion_matrix_int.insert(f.deletion_matrix_int.end(), deletions.begin(), deletions.end());
      f.msa_species_identifiers.push_back(species_identifier(r < static_cast<int64_t>(msa.descriptions.size())
                                                                 ? msa.descriptions[static_cast<size_t>(r)]
                                                                 : std::string()));
      ++f.n_seq;
    }
  }
  f.num_alignments.assign(static_cast<size_t>(f.n_res), static_cast<int32_t>(f.n_seq));
  mark_colabfold_complex(f, msas, msa_sources);  // a ColabFold complex A3M: its chains
  return f;
}

namespace {

void write_template_arrays(data::H5Writer& h5, const TemplateFeatures& t) {
  h5.write("template_aatype", t.aatype, {t.n_templates, t.n_res, kTemplateAatypeChannels});
  h5.write("template_all_atom_masks", t.all_atom_masks, {t.n_templates, t.n_res, rc::atom_type_num});
  h5.write("template_all_atom_positions", t.all_atom_positions, {t.n_templates, t.n_res, rc::atom_type_num, 3});
  h5.write_strings("template_domain_names", t.domain_names);
  h5.write_strings("template_sequence", t.sequence);
  h5.write("template_sum_probs", t.sum_probs, {t.n_templates, 1});
}

// n_res -1: any.
TemplateFeatures read_template_arrays(const data::H5Reader& h5, int64_t n_res) {
  TemplateFeatures t;
  const auto aatype = h5.read<float>("template_aatype", {-1, n_res, kTemplateAatypeChannels});
  t.n_templates = aatype.shape[0];
  t.n_res = aatype.shape[1];
  t.aatype = aatype.values;
  t.all_atom_masks = h5.read<float>("template_all_atom_masks", {t.n_templates, t.n_res, rc::atom_type_num}).values;
  t.all_atom_positions =
      h5.read<float>("template_all_atom_positions", {t.n_templates, t.n_res, rc::atom_type_num, 3}).values;
  t.domain_names = h5.read_strings("template_domain_names");
  t.sequence = h5.read_strings("template_sequence");
  t.sum_probs = h5.read<float>("template_sum_probs", {t.n_templates, 1}).values;
  if (static_cast<int64_t>(t.domain_names.size()) != t.n_templates ||
      static_cast<int64_t>(t.sequence.size()) != t.n_templates)
    fail_input("{}: template_domain_names and template_sequence must have {} entries (template_aatype's)",
               h5.path().string(), t.n_templates);
  return t;
}

}  // namespace

void write_template_features(const std::filesystem::path& path, const TemplateFeatures& templates) {
  data::H5Writer h5(path);
  write_template_arrays(h5, templates);
  h5.set_attribute("kfold_format", "template_features v1 (AlphaFold templates.TemplateHitFeaturizer)");
  h5.commit();
}

TemplateFeatures read_template_features(const std::filesystem::path& path) {
  const data::H5Reader h5(path);
  return read_template_arrays(h5, -1);
}

void write_raw_features(const std::filesystem::path& path, const RawFeatures& f) {
  data::H5Writer h5(path);
  h5.write("aatype", f.aatype, {f.n_res, rc::restype_num_with_x});
  h5.write("between_segment_residues", f.between_segment_residues, {f.n_res});
  h5.write_strings("domain_name", {f.domain_name});
  h5.write("residue_index", f.residue_index, {f.n_res});
  h5.write("seq_length", f.seq_length, {f.n_res});
  if (!f.asym_id.empty()) h5.write("asym_id", f.asym_id, {f.n_res});
  h5.write_strings("sequence", {f.sequence});
  h5.write("msa", f.msa, {f.n_seq, f.n_res});
  h5.write("deletion_matrix_int", f.deletion_matrix_int, {f.n_seq, f.n_res});
  h5.write("num_alignments", f.num_alignments, {f.n_res});
  h5.write_strings("msa_species_identifiers", f.msa_species_identifiers);
  if (f.templates.n_templates > 0) write_template_arrays(h5, f.templates);
  h5.set_attribute("kfold_format", "raw_features v1 (AlphaFold pipeline.make_sequence_features + make_msa_features)");
  h5.commit();
}

RawFeatures read_raw_features(const std::filesystem::path& path) {
  const data::H5Reader h5(path);
  RawFeatures f;
  const auto aatype = h5.read<int32_t>("aatype", {-1, rc::restype_num_with_x});
  f.n_res = aatype.shape[0];
  f.aatype = aatype.values;
  f.between_segment_residues = h5.read<int32_t>("between_segment_residues", {f.n_res}).values;
  f.domain_name = h5.read_string("domain_name");
  f.residue_index = h5.read<int32_t>("residue_index", {f.n_res}).values;
  f.seq_length = h5.read<int32_t>("seq_length", {f.n_res}).values;
  if (h5.contains("asym_id")) f.asym_id = h5.read<int32_t>("asym_id", {f.n_res}).values;
  f.sequence = h5.read_string("sequence");
  const auto msa = h5.read<int32_t>("msa", {-1, f.n_res});
  f.n_seq = msa.shape[0];
  f.msa = msa.values;
  f.deletion_matrix_int = h5.read<int32_t>("deletion_matrix_int", {f.n_seq, f.n_res}).values;
  f.num_alignments = h5.read<int32_t>("num_alignments", {f.n_res}).values;
  if (h5.contains("msa_species_identifiers")) f.msa_species_identifiers = h5.read_strings("msa_species_identifiers");
  if (h5.contains("template_aatype")) f.templates = read_template_arrays(h5, f.n_res);
  if (static_cast<int64_t>(f.sequence.size()) != f.n_res)
    fail_input("{}: 'sequence' has {} letters but 'aatype' has {} rows", path.string(), f.sequence.size(), f.n_res);
  check_raw_feature_values(f, path.string());
  return f;
}

void check_asym_id(std::span<const int32_t> asym_id, int64_t n_res, const std::string& source) {
  if (static_cast<int64_t>(asym_id.size()) != n_res)
    fail_input("{}: 'asym_id' has {} values for {} residues", source, asym_id.size(), n_res);
  std::set<int32_t> finished;  // chains already left
  for (size_t i = 1; i < asym_id.size(); ++i) {
    if (asym_id[i] == asym_id[i - 1]) continue;
    finished.insert(asym_id[i - 1]);
    if (finished.contains(asym_id[i]))
      fail_input(
          "{}: 'asym_id' {} comes back at residue {} after another chain; a chain's residues must be "
          "consecutive (order the chains one after another)",
          source, asym_id[i], i + 1);
  }
}

void check_residue_index(const int32_t* residue_index, int64_t n_res, const std::string& source) {
  for (int64_t i = 0; i < n_res; ++i)  // the output structures number residue i as residue_index[i] + 1
    if (residue_index[i] < -data::kMaxResidueNumber || residue_index[i] >= data::kMaxResidueNumber)
      fail_input("{}: 'residue_index' of residue {} is {}: beyond what structure files number (±{}); renumber", source,
                 i + 1, residue_index[i], data::kMaxResidueNumber);
    else if (residue_index[i] + 1 == -999)  // refused only when the structures were written, after the models ran
      fail_input(
          "{}: 'residue_index' of residue {} is -1000: numbered -999 in the structures, which their readers take "
          "for no number; renumber",
          source, i + 1);
  for (int64_t i = 1; i < n_res; ++i)
    if (residue_index[i] <= residue_index[i - 1])
      fail_input(
          "{}: 'residue_index' must increase along the sequence (residue {} is numbered {} after {}): the "
          "relative positions and the output structures' residue numbers come from it; number the residues in "
          "order (a chain break: a jump, e.g. +200)",
          source, i + 1, residue_index[i], residue_index[i - 1]);
}

void check_raw_feature_values(const RawFeatures& f, const std::string& source) {
  const int64_t n_types = rc::restype_num_with_x;
  std::vector<int64_t> types(static_cast<size_t>(f.n_res));  // [n_res] aatype's index per residue
  for (int64_t i = 0; i < f.n_res; ++i) {
    int64_t& type = types[static_cast<size_t>(i)];
    int64_t ones = 0;
    type = -1;
    for (int64_t a = 0; a < n_types; ++a) {
      const int32_t v = f.aatype[static_cast<size_t>(i * n_types + a)];
      if (v != 0 && v != 1)
        fail_input("{}: 'aatype' residue {} has value {}; each row is one-hot over the 21 residue types", source, i + 1,
                   v);
      if (v == 1) ++ones, type = a;
    }
    if (ones != 1)
      fail_input("{}: 'aatype' residue {} has {} ones; each row is one-hot over the 21 residue types (20 and X)",
                 source, i + 1, ones);
    if (i < static_cast<int64_t>(f.sequence.size())) {
      const char letter = f.sequence[static_cast<size_t>(i)];
      const int64_t found = rc::find_restype_with_x(letter);
      const int64_t from_letter = found < 0 ? rc::unk_restype_index : found;
      if (from_letter != type)
        fail_input("{}: residue {} is '{}' in 'sequence' but '{}' in 'aatype'; make both from one sequence", source,
                   i + 1, letter, rc::restypes_with_x[static_cast<size_t>(type)]);
    }
  }
  // Over the whole input, chains included: the monomer models see chains apart only through residue_index (its
  // relative-position features), so AlphaFold-Multimer's numbering that starts again per chain would put the
  // chains on top of each other.
  check_residue_index(f.residue_index.data(), static_cast<int64_t>(f.residue_index.size()), source);
  if (!f.asym_id.empty()) check_asym_id(f.asym_id, static_cast<int64_t>(f.residue_index.size()), source);
  // As AlphaFold writes them: the residue count at every position (the model reads the first).
  for (const int32_t v : f.seq_length)
    if (v != f.n_res)
      fail_input("{}: 'seq_length' holds {} but 'aatype' has {} residues; it is the residue count at every position",
                 source, v, f.n_res);
  if (f.n_seq < 1)
    fail_input("{}: 'msa' has no rows; its first row is the query's (single sequence: that row alone)", source);
  for (const int32_t v : f.msa)
    if (v < 0 || v > 21) fail_input("{}: 'msa' has value {} outside [0, 21] (HHblits ids)", source, v);
  // Row 0 is the query, as AlphaFold's pipeline writes it: a mutation made in 'aatype' and 'sequence' alone would be
  // predicted from a mix of both. Unknown on either side matches (msa_letter_may_be keeps kfold's own features so).
  if (f.msa.size() >= types.size()) {
    for (size_t i = 0; i < types.size(); ++i) {
      const int64_t in_msa = rc::MAP_HHBLITS_AATYPE_TO_OUR_AATYPE[static_cast<size_t>(f.msa[i])];
      if (in_msa == types[i] || types[i] == rc::unk_restype_index || in_msa == rc::unk_restype_index) continue;
      fail_input(
          "{}: row 0 of 'msa' (the query's row) has '{}' at residue {} where 'aatype' has '{}'; make 'msa' and "
          "'deletion_matrix_int' from the same sequence (a mutation changes row 0 of 'msa' too)",
          source, rc::restypes_with_x_and_gap[static_cast<size_t>(in_msa)], i + 1,
          rc::restypes_with_x[static_cast<size_t>(types[i])]);
    }
  }
  for (const int32_t v : f.deletion_matrix_int)
    if (v < 0) fail_input("{}: 'deletion_matrix_int' has a negative count {}", source, v);
  // Template arrays: a NaN coordinate or mask would make every output NaN.
  const auto check_finite = [&](const std::vector<float>& values, const char* name) {
    const auto bad = std::count_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
    if (bad > 0)
      fail_input("{}: '{}' holds {} NaN or infinite values; make the template features again", source, name, bad);
  };
  check_finite(f.templates.aatype, "template_aatype");
  check_finite(f.templates.all_atom_masks, "template_all_atom_masks");
  check_finite(f.templates.all_atom_positions, "template_all_atom_positions");
  check_finite(f.templates.sum_probs, "template_sum_probs");
}

}  // namespace kfold::fold
