// Checks and repairs of PDB and mmCIF text before gemmi reads it (data/structure_input_guards.hpp).
#include "data/structure_input_guards.hpp"

#include <fmt/ranges.h>
#include <gemmi/cifdoc.hpp>
#include <gemmi/util.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <set>
#include <string_view>
#include <vector>

#include "data/error.hpp"
#include "data/sequence.hpp"
#include "data/structure_io.hpp"

namespace kfold::data {

namespace {

// gemmi 0.5 reads some mmCIF integers (residue and atom numbers, charges, model numbers, counts) into a
// 32-bit int without an overflow check: one of 10 or more digits wraps into a wrong number (undefined
// behaviour). A value of those tags that gemmi could read as an integer (digits with an optional sign and
// an insertion-code letter) and that does not fit is refused here, naming tag and line; other columns
// (accession numbers of digits, say) are gemmi's strings and left alone.
// The largest magnitude gemmi takes in an mmCIF column it reads as an integer: kMaxResidueNumber for
// residue numbers (gemmi orders them as number * 256 + insertion code), INT32_MAX for other integers, 0
// for columns it keeps as text.
int64_t gemmi_integer_limit(const std::string& tag) {
  static const std::set<std::string> kTags = {"_atom_site.id",
                                              "_atom_site.pdbx_formal_charge",
                                              "_atom_site.pdbx_pdb_model_num",
                                              "_atom_site.pdbx_tls_group_id",
                                              "_struct_conf.pdbx_pdb_helix_class",
                                              "_struct_conf.pdbx_pdb_helix_length",
                                              "_entity_poly_seq.num",
                                              "_struct_ref_seq.seq_align_beg",
                                              "_struct_ref_seq.seq_align_end",
                                              "_struct_ref_seq.db_align_beg",
                                              "_struct_ref_seq.db_align_end",
                                              "_pdbx_sifts_xref_db.unp_num",
                                              "_refine.ls_number_reflns_obs",
                                              "_reflns.number_obs",
                                              "_exptl.crystals_number",
                                              "_software.pdbx_ordinal",
                                              "_pdbx_struct_assembly.oligomeric_count"};
  // Residue numbers: the *seq_id columns of the categories gemmi reads residues from.
  static const std::string kSeqIdCategories[] = {
      "_atom_site.",   "_struct_conf.",         "_struct_sheet_range.", "_pdbx_struct_sheet_hbond.",
      "_struct_conn.", "_struct_mon_prot_cis.", "_pdbx_sifts_xref_db."};
  std::string lower = tag;
  std::transform(lower.begin(), lower.end(), lower.begin(), to_ascii_lower);
  if ((lower.ends_with("seq_id") &&
       std::any_of(std::begin(kSeqIdCategories), std::end(kSeqIdCategories),
                   [&](const std::string& category) { return lower.starts_with(category); })) ||
      lower == "_struct_ref_seq.pdbx_auth_seq_align_beg" || lower == "_struct_ref_seq.pdbx_auth_seq_align_end")
    return kMaxResidueNumber;
  return kTags.count(lower) > 0 ? std::numeric_limits<int32_t>::max() : 0;
}

void check_integers_fit(const gemmi::cif::Block& block, const std::string& source) {
  const auto check = [&](const std::string& tag, const std::string& raw, int64_t limit, const char* where, int line) {
    const std::string value = gemmi::cif::is_null(raw) ? raw : gemmi::cif::as_string(raw);  // ('12' quoted: 12)
    size_t i = !value.empty() && (value[0] == '-' || value[0] == '+') ? 1 : 0;
    const size_t first_digit = i;
    while (i < value.size() && value[i] == '0') ++i;
    const size_t significant = i;
    while (i < value.size() && (value[i] >= '0' && value[i] <= '9')) ++i;
    const size_t end = i;
    if (end == first_digit || value.size() - end > 1) {  // not an integer (an insertion code may follow)
      // gemmi's own message named neither column nor line ("not an integer: x"); '?' and '.' are none.
      if (value != "?" && value != "." && gemmi::istarts_with(tag, "_atom_site."))
        fail_input("{}: {} = {} ({} at line {}) is not an integer; give the residue or atom number", source, tag, value,
                   where, line);
      return;
    }
    const bool negative = value[0] == '-';
    int64_t magnitude = 0;
    const bool fits = significant == end ||  // all zeros: 0, 00, -0
                      (end - significant <= 18 &&
                       std::from_chars(value.data() + significant, value.data() + end, magnitude).ec == std::errc() &&
                       magnitude <= limit + (negative && limit == std::numeric_limits<int32_t>::max() ? 1 : 0));
    if (!fits)
      fail_input("{}: {} = {} ({} at line {}) is beyond {}, the structure reader's limit{}; renumber the file", source,
                 tag, value, where, line, limit == kMaxResidueNumber ? "±8388607" : "a 32-bit integer",
                 limit == kMaxResidueNumber ? " for residue numbers" : "");
  };
  for (const gemmi::cif::Item& item : block.items) {
    if (item.type == gemmi::cif::ItemType::Pair) {
      if (const int64_t limit = gemmi_integer_limit(item.pair[0]); limit > 0)
        check(item.pair[0], item.pair[1], limit, "the item", item.line_number);
    } else if (item.type == gemmi::cif::ItemType::Loop) {
      const gemmi::cif::Loop& loop = item.loop;
      for (size_t c = 0; c < loop.width(); ++c)
        if (const int64_t limit = gemmi_integer_limit(loop.tags[c]); limit > 0)
          for (size_t r = 0; r < loop.length(); ++r)
            check(loop.tags[c], loop.val(r, c), limit, "in the loop", item.line_number);
    }
  }
}

// gemmi reads no atom at all (then "no models") when one of the _atom_site columns it requires is missing:
// named here instead.
void check_atom_site_columns(const gemmi::cif::Block& block, const std::string& source) {
  const auto it = std::find_if(block.items.begin(), block.items.end(), [](const gemmi::cif::Item& item) {
    return item.type == gemmi::cif::ItemType::Loop && !item.loop.tags.empty() &&
           gemmi::istarts_with(item.loop.tags.front(), "_atom_site.");
  });
  if (it == block.items.end()) return;  // no atoms: said after reading
  const gemmi::cif::Item* loop = &*it;
  std::vector<std::string> missing;
  for (const char* column : {"id", "type_symbol", "label_alt_id", "label_asym_id", "Cartn_x", "Cartn_y", "Cartn_z",
                             "occupancy", "B_iso_or_equiv", "auth_seq_id"})
    if (loop->loop.find_tag(std::string("_atom_site.") + column) < 0)
      missing.push_back(std::string("_atom_site.") + column);
  if (!missing.empty())
    fail_input("{}: the _atom_site loop (line {}) lacks {}, which the structure reader needs; add the column{}", source,
               loop->line_number, fmt::join(missing, ", "), missing.size() > 1 ? "s" : "");
}

// mmCIF files without author residue numbers (_atom_site.auth_seq_id missing, or "?" / ".") would have all
// their residues read as one by gemmi: those take their label_seq_id.
void number_residues_by_label_where_missing(gemmi::cif::Block& block) {
  auto item = std::find_if(block.items.begin(), block.items.end(), [](const gemmi::cif::Item& i) {
    return i.type == gemmi::cif::ItemType::Loop && i.loop.has_tag("_atom_site.label_seq_id");
  });
  if (item == block.items.end()) return;
  gemmi::cif::Loop& loop = item->loop;
  const auto label = static_cast<size_t>(loop.find_tag("_atom_site.label_seq_id"));
  if (!loop.has_tag("_atom_site.auth_seq_id")) {
    const size_t width = loop.width(), rows = loop.length();
    std::vector<std::string> values;
    values.reserve(rows * (width + 1));
    for (size_t r = 0; r < rows; ++r) {
      for (size_t c = 0; c < width; ++c) values.push_back(loop.val(r, c));
      values.push_back(loop.val(r, label));
    }
    loop.tags.push_back("_atom_site.auth_seq_id");
    loop.values = std::move(values);
    return;
  }
  const auto auth = static_cast<size_t>(loop.find_tag("_atom_site.auth_seq_id"));
  for (size_t r = 0; r < loop.length(); ++r)
    if (gemmi::cif::is_null(loop.val(r, auth))) loop.values[r * loop.width() + auth] = loop.val(r, label);
}

}  // namespace

void prepare_mmcif_block(gemmi::cif::Block& block, const std::string& source) {
  check_integers_fit(block, source);
  number_residues_by_label_where_missing(block);
  check_atom_site_columns(block, source);
  // Assemblies are not read (the first model is), and gemmi expands _pdbx_struct_assembly_gen's operator
  // ranges ("(1-60)") without a bound or an overflow check: "(1-10000000)" in a 1 KB file took 0.8 GB.
  for (gemmi::cif::Item& item : block.items)  // in loops or single items, any number of them
    if ((item.type == gemmi::cif::ItemType::Pair && gemmi::istarts_with(item.pair[0], "_pdbx_struct_assembly_gen.")) ||
        (item.type == gemmi::cif::ItemType::Loop && !item.loop.tags.empty() &&
         gemmi::istarts_with(item.loop.tags.front(), "_pdbx_struct_assembly_gen.")))
      item.erase();
}

// gemmi 0.5.7 reads the distance of a LINK or SSBOND record (columns 74-78) with an end pointer past the
// record's end when the record is 74 to 78 characters long, newline included (a heap over-read of up to 3
// bytes, found by fuzzing: tests/fuzz/regressions/structure/). The records gemmi keeps for connections (LINK,
// SSBOND, CISPEP: their first four letters, any case) are padded with spaces to 80 columns before gemmi reads
// the text; blank columns are what the PDB format means by a short line. A NUL byte would cut such a record
// short inside gemmi, and is no part of a text file: refused. gemmi also reads a coordinate field (columns
// 31-38, 39-46, 47-54 of ATOM/HETATM) that is blank or not a number as 0: such a record is refused here.
std::string prepare_pdb_text(std::string text, const std::string& source) {
  if (const auto nul = text.find('\0'); nul != std::string::npos)
    fail_input("{}: line {} has a NUL byte: not a text PDB file", source,
               std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(nul), '\n') + 1);
  constexpr size_t kColumns = 80;
  const auto record = [](std::string_view line) {  // the first four letters, as gemmi tells records
    std::string prefix(line.substr(0, 4));
    for (char& c : prefix) c = to_ascii_upper(c);
    return prefix;
  };
  const auto check_coordinates = [&](std::string_view line, size_t start) {
    for (size_t column = 30; column < 54; column += 8) {
      std::string_view field = column < line.size() ? line.substr(column, 8) : std::string_view();
      while (!field.empty() && field.front() == ' ') field.remove_prefix(1);
      while (!field.empty() && (field.back() == ' ' || field.back() == '\r')) field.remove_suffix(1);
      if (!field.empty() && field.front() == '+') field.remove_prefix(1);
      double value = 0.0;
      const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
      if (field.empty() || error != std::errc() || end != field.data() + field.size())
        fail_input(
            "{}:{}: the {} coordinate of this {} record (columns {}-{}) is {}; the PDB format has x, y, z in "
            "columns 31-54: fix the record",
            source, std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(start), '\n') + 1,
            "xyz"[(column - 30) / 8], line.substr(0, std::min(line.find_first_of(" \r"), size_t{6})), column + 1,
            column + 8, field.empty() ? std::string("blank or missing") : fmt::format("'{}', not a number", field));
    }
  };
  // Lines as gemmi cuts them (copy_line_from_stream): at most kGemmiLine bytes up to and with a newline; of a
  // longer line the rest is skipped up to a newline or a byte gemmi's signed char reads as <= 0 (any byte
  // >= 0x80), and the next line starts after it. Cutting at newlines alone would miss a record that starts
  // after such a byte.
  constexpr size_t kGemmiLine = 120;
  std::string padded;
  size_t copied = 0;  // text before this offset is in `padded`
  for (size_t start = 0; start < text.size();) {
    const size_t limit = std::min(start + kGemmiLine, text.size());
    const auto newline = static_cast<size_t>(std::find(text.begin() + static_cast<std::ptrdiff_t>(start),
                                                       text.begin() + static_cast<std::ptrdiff_t>(limit), '\n') -
                                             text.begin());
    if (newline == limit && limit < text.size()) {  // a long line: gemmi reads its start and skips the rest
      if (const std::string_view head(text.data() + start, limit - start);
          record(head) == "ATOM" || record(head) == "HETA")
        check_coordinates(head, start);
      size_t next = limit;
      while (next < text.size()) {
        const auto c = static_cast<signed char>(text[next++]);
        if (c <= 0 || c == '\n') break;
      }
      start = next;
      continue;
    }
    const std::string_view line(text.data() + start, newline - start);
    const size_t columns = line.ends_with('\r') ? line.size() - 1 : line.size();
    const std::string type = record(line);
    // gemmi stops at END ("END" then a blank or the line's end; ENDMDL is another record).
    if (type.starts_with("END") && (type.size() == 3 || is_space(type[3]))) break;
    if (type == "ATOM" || type == "HETA") check_coordinates(line, start);
    if (columns < kColumns && (type == "LINK" || type == "SSBO" || type == "CISP")) {
      padded.append(text, copied, start + columns - copied);
      padded.append(kColumns - columns, ' ');
      copied = start + columns;
    }
    start = newline + 1;
  }
  if (copied == 0) return text;
  padded.append(text, copied);
  return padded;
}

}  // namespace kfold::data
