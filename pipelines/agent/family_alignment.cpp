// Focus-aware reading of A2M/A3M family alignments into a [n_seq, n_col] matrix of 21 states.
#include "pipelines/agent/family_alignment.hpp"

#include <array>
#include <charconv>

#include "data/error.hpp"
#include "data/sequence.hpp"
#include "data/text_input.hpp"
#include "pipelines/agent/variant.hpp"

namespace kfold::pipelines::agent {

namespace {

constexpr std::array<uint8_t, 256> make_state_table() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kGapState;
  for (size_t k = 0; k < kAminoAcids.size(); ++k) {
    t[static_cast<unsigned char>(kAminoAcids[k])] = static_cast<uint8_t>(k);
    t[static_cast<unsigned char>(kAminoAcids[k] - 'A' + 'a')] = static_cast<uint8_t>(k);
  }
  return t;
}
constexpr std::array<uint8_t, 256> kStateTable = make_state_table();

// `NAME/24-286` → 24; no '/START-END' suffix → 1.
int64_t parse_focus_start(std::string_view id, std::string_view source, int64_t line) {
  const size_t slash = id.rfind('/');
  if (slash == std::string_view::npos) return 1;
  const std::string_view range = id.substr(slash + 1);
  const size_t dash = range.find('-');
  if (dash == std::string_view::npos) return 1;
  int64_t start = 0;
  const std::string_view digits = range.substr(0, dash);
  if (digits.empty() || digits.front() < '0' || digits.front() > '9') return 1;  // not a region suffix
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), start);
  if (ec != std::errc() || end != digits.data() + digits.size() || start < 0) {
    fail_input(
        "{}:{}: the focus header '{}' ends in a malformed region; write NAME/START-END (e.g. "
        "BLAT_ECOLX/24-286) or drop the suffix",
        source, line, id);
  }
  return start;
}

struct Record {
  std::string header;
  std::string residues;
  int64_t line = 0;
};

FamilyAlignment parse(data::LineReader& reader) {
  FamilyAlignment ali;
  ali.source = reader.source();
  std::vector<bool> keep;  // per match column of the focus
  int64_t n_match = 0;
  Record rec;
  bool have_record = false;

  auto finish_record = [&]() {
    if (!have_record) return;
    if (ali.n_seq == 0) {
      // The focus: number its letters and choose the kept columns.
      const size_t space = rec.header.find_first_of(" \t");
      ali.focus_id = rec.header.substr(0, space);
      if (ali.focus_id.empty()) fail_input("{}:{}: the focus header has no id", ali.source, rec.line);
      ali.focus_start = parse_focus_start(ali.focus_id, ali.source, rec.line);
      int64_t residue = ali.focus_start;
      for (const char c : rec.residues) {
        if (data::is_ascii_upper(c)) {
          keep.push_back(true);
          ali.column_residue.push_back(residue++);
          ali.focus_residues += c;
          ++n_match;
        } else if (c == '-') {
          keep.push_back(false);
          ++n_match;
        } else if (data::is_ascii_lower(c)) {
          ali.focus_residues += data::to_ascii_upper(c);
          ++residue;
        } else if (c != '.') {
          fail_input("{}:{}: unexpected character {} in the focus sequence; A2M/A3M rows hold letters, '-' and '.'",
                     ali.source, rec.line, data::char_for_message(c));
        }
      }
      ali.n_col = static_cast<int64_t>(ali.column_residue.size());
      if (ali.n_col == 0) {
        fail_input(
            "{}:{}: the focus sequence (first record) has no upper-case letters, so no aligned columns; the "
            "first record must be the wild type with its aligned residues in upper case",
            ali.source, rec.line);
      }
    }
    const size_t base = ali.states.size();
    ali.states.resize(base + static_cast<size_t>(ali.n_col));
    int64_t match = 0;
    int64_t col = 0;
    for (const char c : rec.residues) {
      if (data::is_ascii_upper(c) || c == '-') {
        if (match < n_match && keep[static_cast<size_t>(match)]) {
          ali.states[base + static_cast<size_t>(col++)] = kStateTable[static_cast<unsigned char>(c)];
        }
        ++match;
      } else if (!data::is_ascii_lower(c) && c != '.') {
        fail_input("{}:{}: unexpected character {}; A2M/A3M rows hold letters, '-' and '.'", ali.source, rec.line,
                   data::char_for_message(c));
      }
    }
    if (match != n_match) {
      fail_input(
          "{}:{}: record '{}' has {} match states (upper-case letters and '-') but the focus has {}; every row "
          "of an A2M/A3M alignment must have the focus's match columns",
          ali.source, rec.line, rec.header.substr(0, rec.header.find_first_of(" \t")), match, n_match);
    }
    ++ali.n_seq;
  };

  std::string_view line;
  while (reader.next(line)) {
    if (!have_record && line.starts_with("# STOCKHOLM"))
      reader.fail(
          "a Stockholm file; the agent reads the family alignment as A2M/A3M (kfold predict and features read "
          "Stockholm too): convert it, e.g. esl-reformat a2m FILE.sto or hh-suite's reformat.pl sto a3m");
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '>') {
      finish_record();
      rec.header.assign(line.substr(1));
      rec.residues.clear();
      rec.line = reader.line_number();
      have_record = true;
      continue;
    }
    if (!have_record) reader.fail("text before the first '>' header; an A2M/A3M file starts with '>NAME'");
    for (const char c : line) {
      if (!data::is_space(c)) rec.residues += c;
    }
  }
  finish_record();
  if (ali.n_seq == 0)
    fail_input("{}: no records; expected an A2M/A3M alignment whose first record is the focus", ali.source);
  return ali;
}

}  // namespace

uint8_t residue_state(char c) { return kStateTable[static_cast<unsigned char>(c)]; }

char state_letter(uint8_t state) { return state < 20 ? kAminoAcids[state] : '-'; }

int64_t FamilyAlignment::column_of_residue(int64_t residue) const {
  // column_residue is strictly increasing.
  int64_t lo = 0;
  int64_t hi = n_col;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (column_residue[static_cast<size_t>(mid)] < residue)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n_col && column_residue[static_cast<size_t>(lo)] == residue ? lo : -1;
}

FamilyAlignment read_family_alignment(const std::filesystem::path& path) {
  data::LineReader reader(path);
  return parse(reader);
}

FamilyAlignment parse_family_alignment(std::string text, std::string source_name) {
  data::LineReader reader = data::LineReader::from_string(std::move(text), std::move(source_name));
  return parse(reader);
}

}  // namespace kfold::pipelines::agent
