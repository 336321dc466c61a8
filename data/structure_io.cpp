// Protein ↔ gemmi::Structure, then gemmi's PDB/mmCIF writers and readers.
#define GEMMI_WRITE_IMPLEMENTATION
#include "data/structure_io.hpp"

#include <fmt/ranges.h>
#include <gemmi/align.hpp>
#include <gemmi/mmread.hpp>
#include <gemmi/model.hpp>
#include <gemmi/polyheur.hpp>
#include <gemmi/to_cif.hpp>
#include <gemmi/to_mmcif.hpp>
#include <gemmi/to_pdb.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/header_text.hpp"
#include "data/log.hpp"
#include "data/mmcif_annotations.hpp"
#include "data/residue_constants.hpp"
#include "data/sequence.hpp"
#include "data/structure_input_guards.hpp"
#include "data/text_input.hpp"

namespace kfold::data {

std::string chain_name(int64_t index) {
  constexpr std::string_view kNames = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  constexpr auto kCount = static_cast<int64_t>(kNames.size());
  if (index < 0) fail_input("chain_index {}: must not be negative", index);
  // Bijective base 62, the first character fastest (AlphaFold's mmCIF chain ids count so): A..9, then AA, BA, ...
  std::string name;
  for (int64_t n = index + 1; n > 0; n = (n - 1) / kCount) name += kNames[static_cast<size_t>((n - 1) % kCount)];
  return name;
}

namespace {

constexpr double kMaxCoordinate = 1e6;  // Å: beyond it no structure's, and near float's range

// The amino acid a residue name stands for: force fields' names of protonation states (Amber, CHARMM)
// and selenomethionine as their amino acid; any other name as it is.
std::string amino_acid_name(const std::string& name) {
  static const std::map<std::string, std::string> kAliases{
      {"HID", "HIS"}, {"HIE", "HIS"}, {"HIP", "HIS"}, {"HSD", "HIS"}, {"HSE", "HIS"}, {"HSP", "HIS"},
      {"CYX", "CYS"}, {"CYM", "CYS"}, {"ASH", "ASP"}, {"GLH", "GLU"}, {"LYN", "LYS"}, {"MSE", "MET"}};
  const auto it = kAliases.find(name);
  return it == kAliases.end() ? name : it->second;
}

// The atom37 name of an atom that force fields and MD packages name otherwise: selenomethionine's SE (as
// AlphaFold's mmCIF parser reads it), CHARMM's isoleucine CD, and the C-terminal oxygens of CHARMM (OT1,
// OT2) and GROMACS (OC1, OC2). OpenMM's PDB reader, which AlphaFold's Amber relax uses, maps the same names.
std::string_view atom37_name(std::string_view residue, std::string_view atom, bool selenomethionine) {
  if (selenomethionine && atom == "SE") return "SD";
  if (residue == "ILE" && atom == "CD") return "CD1";
  if (atom == "OT1" || atom == "OC1") return "O";
  if (atom == "OT2" || atom == "OC2") return "OXT";
  return atom;
}

// The alternative location a residue is read in: the label with the highest summed occupancy (the first
// label on ties), so that a conformer stays whole; '\0' when the residue has none.
char most_occupied_altloc(const gemmi::Residue& res) {
  std::vector<std::pair<char, double>> occupancy;  // in order of first appearance
  for (const gemmi::Atom& atom : res.atoms) {
    if (atom.altloc == '\0') continue;
    auto it = std::find_if(occupancy.begin(), occupancy.end(), [&](const auto& o) { return o.first == atom.altloc; });
    if (it == occupancy.end()) it = occupancy.insert(occupancy.end(), {atom.altloc, 0.0});
    it->second += atom.occ;
  }
  char best = '\0';
  double most = -1.0;
  for (const auto& [label, sum] : occupancy)
    if (sum > most) std::tie(best, most) = std::pair(label, sum);
  return best;
}

// Whether residue i of `chain` is peptide-bonded (C-N under 2 A) to the residue before or after it: an
// amino acid written as HETATM inside a chain (as some programs write them) is part of it, not a ligand.
bool peptide_bonded_to_neighbour(const gemmi::Chain& chain, size_t i) {
  const auto bonded = [](const gemmi::Residue& a, const gemmi::Residue& b) {  // a's C to b's N
    const gemmi::Atom* c = a.find_atom("C", '*', gemmi::El::C);
    const gemmi::Atom* n = b.find_atom("N", '*', gemmi::El::N);
    return c != nullptr && n != nullptr && c->pos.dist(n->pos) < 2.0;
  };
  const auto& residues = chain.residues;
  return (i > 0 && bonded(residues[i - 1], residues[i])) ||
         (i + 1 < residues.size() && bonded(residues[i], residues[i + 1]));
}

// A PDB line has 80 columns; "REMARK 250 " takes 11 of them.
constexpr size_t kPdbRemarkWidth = 69;

// The header remarks as lines of at most `width` characters: split at newlines (a remark with one would
// otherwise end the comment or record it is written in), then wrapped at spaces (a word longer than the
// width is cut); control characters become spaces.
std::vector<std::string> remark_lines(const std::vector<std::string>& remarks, size_t width) {
  std::vector<std::string> lines;
  for (const std::string& remark : remarks) {
    std::istringstream paragraphs(remark);
    for (std::string paragraph; std::getline(paragraphs, paragraph);) {
      for (char& c : paragraph)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
      std::string line;
      std::istringstream words(paragraph);
      for (std::string word; words >> word;) {
        if (!line.empty() && line.size() + 1 + word.size() > width) lines.push_back(std::exchange(line, {}));
        for (; word.size() > width; word.erase(0, width)) lines.push_back(word.substr(0, width));
        line += (line.empty() ? "" : " ") + word;
      }
      if (!line.empty()) lines.push_back(line);
    }
  }
  return lines;
}

// label_asym_id: the one read from an mmCIF (kfold relax of a PDB entry keeps its C, D), else the chain's name,
// as AlphaFold's mmCIF writes it (gemmi would name it "Apoly"); a chain split in two by another (A, B, A) gets
// A and A2. `model`: p's residues in order, a gemmi chain per molecule.
void name_entity_instances(const Protein& p, gemmi::Model& model) {
  std::set<std::string> subchains;
  size_t first_residue = 0;  // of the chain below, in p
  for (gemmi::Chain& chain : model.chains) {
    const std::string read = p.label_asym_ids.empty() ? std::string() : p.label_asym_ids[first_residue];
    const std::string& base = read.empty() ? chain.name : read;
    std::string name = base;
    for (int k = 2; !subchains.insert(name).second; ++k) name = base + std::to_string(k);
    for (gemmi::Residue& res : chain.residues) res.subchain = name;
    first_residue += chain.residues.size();
  }
}

gemmi::Structure to_gemmi(const Protein& p, const StructureHeader& header) {
  p.check_shapes();
  gemmi::Structure st;
  st.name = header.entry_id.empty() ? "kfold" : header.entry_id;
  st.info["_struct.title"] = header.title.empty() ? "kfold structure" : header.title;
  for (const auto& line : remark_lines(header.remarks, kPdbRemarkWidth))
    st.raw_remarks.push_back(fmt::format("REMARK 250 {:<{}}\n", line, kPdbRemarkWidth));
  st.models.emplace_back("1");
  gemmi::Model& model = st.models.back();
  for (int64_t i = 0; i < p.n_res(); ++i) {
    const int64_t chain_number = p.chain_index[static_cast<size_t>(i)];
    const std::string chain =
        p.chain_names.empty() ? chain_name(chain_number) : p.chain_names[static_cast<size_t>(chain_number)];
    // A molecule the file ended inside a chain: its own gemmi chain of the same name (TER, label_asym_id A2).
    const bool after_end = i > 0 && ((!p.ends_molecule.empty() && p.ends_molecule[static_cast<size_t>(i - 1)] != 0) ||
                                     (!p.label_asym_ids.empty() && p.label_asym_ids[static_cast<size_t>(i - 1)] !=
                                                                       p.label_asym_ids[static_cast<size_t>(i)]));
    if (model.chains.empty() || model.chains.back().name != chain || after_end) model.chains.emplace_back(chain);
    gemmi::Residue res;
    const int64_t aa = p.aatype[static_cast<size_t>(i)];
    if (aa < 0 || aa > rc::restype_num) fail_input("aatype {} at residue {} is out of range [0, 20]", aa, i);
    res.name = std::string(rc::resnames[static_cast<size_t>(aa)]);
    // gemmi orders residues by number * 256 + insertion code (an int) and takes -999 for "none".
    if (const int64_t number = p.residue_index[static_cast<size_t>(i)];
        number == -999 || number < -kMaxResidueNumber || number > kMaxResidueNumber)
      fail_input(
          "residue number {} (residue {}) cannot be written: structure readers take -999 for no number, and "
          "gemmi numbers within ±{}; renumber the residues",
          number, i + 1, kMaxResidueNumber);
    res.seqid = gemmi::SeqId(static_cast<int>(p.residue_index[static_cast<size_t>(i)]),
                             p.insertion_code.empty() ? ' ' : p.insertion_code[static_cast<size_t>(i)]);
    res.entity_type = gemmi::EntityType::Polymer;
    res.het_flag = 'A';
    for (int64_t a = 0; a < rc::atom_type_num; ++a) {
      const size_t k = static_cast<size_t>(i * rc::atom_type_num + a);
      if (p.atom_mask[k] < 0.5f) continue;
      const float* xyz = &p.atom_positions[3 * k];
      if (!std::isfinite(xyz[0]) || !std::isfinite(xyz[1]) || !std::isfinite(xyz[2]))
        fail_runtime("atom {} of residue {} has a coordinate that is not finite ({}, {}, {}): nothing is written",
                     rc::atom_types[static_cast<size_t>(a)], i + 1, xyz[0], xyz[1], xyz[2]);
      gemmi::Atom atom;
      atom.name = std::string(rc::atom_types[static_cast<size_t>(a)]);
      atom.element = gemmi::Element(atom.name.substr(0, 1));
      // The precision of the PDB format's columns (and AlphaFold's mmCIF): 0.001 Å, B-factors 0.01.
      const auto round_to = [](double x, double per_unit) { return std::round(x * per_unit) / per_unit; };
      atom.pos = gemmi::Position(round_to(p.atom_positions[3 * k], 1000), round_to(p.atom_positions[3 * k + 1], 1000),
                                 round_to(p.atom_positions[3 * k + 2], 1000));
      atom.occ = 1.0f;
      atom.b_iso = static_cast<float>(round_to(p.b_factors[k], 100));
      res.atoms.push_back(atom);
    }
    model.chains.back().residues.push_back(std::move(res));
  }
  name_entity_instances(p, model);
  // One entity per distinct sequence, numbered 1, 2, ... as AlphaFold's mmCIF (gemmi's setup_entities names
  // them by chain and gave both parts of a split chain the first part's sequence, so that label_seq_id of
  // the second part pointed at other residues).
  for (const gemmi::Chain& ch : model.chains) {
    std::vector<std::string> sequence;
    for (const auto& r : ch.residues) sequence.push_back(r.name);
    auto ent = std::find_if(st.entities.begin(), st.entities.end(),
                            [&](const gemmi::Entity& e) { return e.full_sequence == sequence; });
    if (ent == st.entities.end()) {
      ent = st.entities.emplace(st.entities.end(), std::to_string(st.entities.size() + 1));
      ent->entity_type = gemmi::EntityType::Polymer;
      ent->polymer_type = gemmi::PolymerType::PeptideL;
      ent->full_sequence = std::move(sequence);
    }
    ent->subchains.push_back(ch.residues.front().subchain);
  }
  gemmi::assign_label_seq_id(st, true);
  st.setup_cell_images();
  return st;
}

void write_text(const std::filesystem::path& path, const std::string& text) { write_file_atomic(path, text); }

}  // namespace

std::optional<StructureFormat> structure_format_of(const std::filesystem::path& path) {
  std::string name = path.filename().string();
  std::transform(name.begin(), name.end(), name.begin(), to_ascii_lower);
  if (name.size() > 3 && name.ends_with(".gz")) name.resize(name.size() - 3);
  if (name.ends_with(".pdb") || name.ends_with(".ent")) return StructureFormat::pdb;
  if (name.ends_with(".cif") || name.ends_with(".mmcif")) return StructureFormat::mmcif;
  return std::nullopt;
}

void Protein::check_shapes() const {
  const auto n = static_cast<size_t>(n_res());
  const auto n37 = n * static_cast<size_t>(rc::atom_type_num);
  auto check = [](size_t have, size_t want, const char* name) {
    if (have != want) fail_input("Protein.{} has {} values, expected {}", name, have, want);
  };
  check(atom_positions.size(), 3 * n37, "atom_positions");
  check(atom_mask.size(), n37, "atom_mask");
  check(residue_index.size(), n, "residue_index");
  check(chain_index.size(), n, "chain_index");
  check(b_factors.size(), n37, "b_factors");
  if (!insertion_code.empty()) check(insertion_code.size(), n, "insertion_code");
  if (!label_asym_ids.empty()) check(label_asym_ids.size(), n, "label_asym_ids");
  if (!ends_molecule.empty()) check(ends_molecule.size(), n, "ends_molecule");
  for (const int64_t c : chain_index)
    if (!chain_names.empty() && (c < 0 || c >= static_cast<int64_t>(chain_names.size())))
      fail_input("Protein.chain_index {} has no name in chain_names ({} names)", c, chain_names.size());
}

void check_fits_pdb(const Protein& protein) {
  // The PDB format has one column (22) for the chain: gemmi would put a second character into column 21,
  // which Biopython, AlphaFold's protein.from_pdb_string and most readers ignore, merging chains AA and BA.
  for (const auto& name : protein.chain_names)
    if (name.size() > 1)
      fail_input("chain {}: a chain name of more than 1 character does not fit the PDB format (column 22); write .cif",
                 name);
  if (const auto last = std::max_element(protein.chain_index.begin(), protein.chain_index.end());
      protein.chain_names.empty() && last != protein.chain_index.end() && chain_name(*last).size() > 1)
    fail_input("{} chains: the PDB format's chain column (22) has one-character names for 62; write .cif", *last + 1);
  // Residue numbers have four columns (23-26); gemmi writes larger ones in hybrid-36 (A000), which standard
  // readers reject.
  for (const int64_t number : protein.residue_index)
    if (number < -999 || number > 9999)
      fail_input("residue number {} does not fit the PDB format's columns (-999..9999); write .cif", number);
  // Atom serial numbers (columns 7-11, a TER record takes one too) likewise: beyond 99,999 gemmi writes hybrid-36.
  int64_t serials = 0;
  for (const float m : protein.atom_mask) serials += m >= 0.5f;
  for (int64_t i = 0; i < protein.n_res(); ++i)  // a TER record after each chain and each molecule
    serials += i + 1 == protein.n_res() ||
               protein.chain_index[static_cast<size_t>(i)] != protein.chain_index[static_cast<size_t>(i + 1)] ||
               (!protein.ends_molecule.empty() && protein.ends_molecule[static_cast<size_t>(i)] != 0);
  if (serials > 99999)
    fail_input("{} atoms and TER records do not fit the PDB format's serial numbers (at most 99,999); write .cif",
               serials);
  for (size_t k = 0; k < protein.atom_mask.size(); ++k)
    for (size_t c = 0; c < 3 && protein.atom_mask[k] >= 0.5f; ++c) {
      const float x = protein.atom_positions[3 * k + c];
      // In thousandths, as %8.3f rounds it (9999.999f is 9999.99902...: it fits); one that is not finite: to_gemmi's
      // error.
      const double thousandths = std::round(static_cast<double>(x) * 1000.0);
      if (std::isfinite(x) && !(thousandths >= -999999.0 && thousandths <= 9999999.0))
        fail_input(
            "coordinate {:.3f} of residue {} does not fit the PDB format's columns (-999.999..9999.999); "
            "write .cif",
            x, protein.residue_index[k / rc::atom_type_num]);
    }
  // B-factors have six columns (61-66, %6.2f): gemmi would clamp a larger one to 999.99 without a word.
  for (size_t k = 0; k < protein.b_factors.size() && k < protein.atom_mask.size(); ++k)
    if (const float b = protein.b_factors[k]; protein.atom_mask[k] >= 0.5f && !(b > -99.995f && b < 999.995f))
      fail_input("B-factor {:.2f} of residue {} does not fit the PDB format's columns (-99.99..999.99); write .cif", b,
                 protein.residue_index[k / rc::atom_type_num]);
}

std::string to_pdb(const Protein& protein, const StructureHeader& header) {
  check_fits_pdb(protein);
  // ASCII header text, on one line each: gemmi wraps TITLE at byte 70 and the remarks are cut at their width (both
  // cut UTF-8 characters in two), and a line break in the title (a file name) made records of its own ("END").
  StructureHeader ascii = header;
  ascii.title = portable_header_text(ascii_text(header.title));
  for (std::string& remark : ascii.remarks) remark = ascii_text(remark);
  const gemmi::Structure st = to_gemmi(protein, ascii);
  std::ostringstream os;
  gemmi::PdbWriteOptions options;
  options.cryst1_record = false;
  gemmi::write_pdb(st, os, options);
  return os.str();
}

std::string to_mmcif(const Protein& protein, const StructureHeader& header) {
  const gemmi::Structure st = to_gemmi(protein, header);
  gemmi::MmcifOutputGroups groups(true);
  groups.group_pdb = true;  // _atom_site.group_PDB (ATOM/HETATM), expected by most readers
  groups.entity_poly = true;
  groups.cell = false;  // predictions have no unit cell
  groups.symmetry = false;
  gemmi::cif::Document doc = gemmi::make_mmcif_document(st, groups);
  complete_mmcif_block(doc.blocks.at(0), st, protein, header);
  // The remarks as data too (as the PDB's REMARK 250): readers drop the comments above the block.
  if (!header.remarks.empty()) {
    gemmi::cif::Loop& remarks = doc.blocks.at(0).init_mmcif_loop("_database_PDB_remark.", {"id", "text"});
    for (const auto& line : remark_lines(header.remarks, std::string::npos))
      remarks.add_row({"250", gemmi::cif::quote(line)});
  }
  std::ostringstream os;
  for (const auto& line : remark_lines(header.remarks, std::string::npos)) os << "# " << line << '\n';
  gemmi::cif::write_cif_to_stream(os, doc);
  return os.str();
}

void write_pdb(const std::filesystem::path& path, const Protein& protein, const StructureHeader& header) {
  write_text(path, to_pdb(protein, header));
}

void write_mmcif(const std::filesystem::path& path, const Protein& protein, const StructureHeader& header) {
  write_text(path, to_mmcif(protein, header));
}

Protein read_structure(const std::filesystem::path& path) {
  check_input_file(path);
  // Format and gzip are told by the content (a .pdb that is gzip-compressed, a file with no extension).
  return parse_structure(read_text_file(path), path.string());
}

namespace {

// `line` starts with `word` in any letter case.
bool is_word_prefix(std::string_view line, std::string_view word) {
  return line.size() >= word.size() &&
         std::equal(word.begin(), word.end(), line.begin(), [](char a, char b) { return a == to_ascii_upper(b); });
}

// A text gemmi reads as PDB must hold ATOM or HETATM records: a FASTA file (a query given where a structure
// belongs) or any other text was read as a structure of no residues ("no protein residues found").
void check_pdb_has_atoms(std::string_view text, const std::string& source) {
  for (size_t at = 0; at < text.size();) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line = text.substr(at, end - at);
    // Any letter case, as gemmi reads records (and prepare_pdb_text keeps them).
    if (is_word_prefix(line, "ATOM") || is_word_prefix(line, "HETATM")) return;
    at = end + 1;
  }
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '>')
    fail_input("{}: a FASTA file, not a structure: give a PDB or mmCIF file (a prediction's ranked_0.pdb, a PDB entry)",
               source);
  fail_input("{}: no ATOM or HETATM records: not a PDB or mmCIF structure with coordinates", source);
}

// The structure gemmi reads from `text` (PDB or mmCIF, told by the content) after kfold's guards; the first of
// several mmCIF data blocks with coordinates, the first model of an ensemble. `labels_read`: whether the file
// gave every residue of that model a label_asym_id (an mmCIF with none '.' or '?'; gemmi names the others after
// their chain, "Apoly", and then the whole chain so).
gemmi::Structure read_gemmi_structure(std::string text, const std::string& source, bool& labels_read) {
  if (text.empty()) fail_input("{}: the file is empty; expected a PDB or mmCIF structure", source);
  const gemmi::CoorFormat format = gemmi::coor_format_from_content(text.data(), text.data() + text.size());
  if (format == gemmi::CoorFormat::Pdb && (text.starts_with("loop_") || text.find("\nloop_") != std::string::npos) &&
      text.find("_atom_site.") != std::string::npos)
    fail_input(
        "{}: mmCIF without a 'data_' line (gemmi reads it as PDB, and finds no atoms); add a line data_NAME "
        "before the first item",
        source);
  if (format != gemmi::CoorFormat::Mmcif) {  // read as PDB below (a text under 9 bytes is "Unknown")
    check_pdb_has_atoms(text, source);
    text = prepare_pdb_text(std::move(text), source);
  }
  gemmi::Structure st;
  try {
    if (format == gemmi::CoorFormat::Mmcif) {
      gemmi::cif::Document doc = gemmi::cif::read_memory(text.data(), text.size(), source.c_str());
      // Several structures in one file (data blocks with coordinates): the first is read, and said so.
      const auto has_atoms = [](const gemmi::cif::Block& b) { return b.has_tag("_atom_site.id"); };
      if (const auto first = std::find_if(doc.blocks.begin(), doc.blocks.end(), has_atoms); first != doc.blocks.end()) {
        const std::string name = first->name;
        const auto others = std::count_if(std::next(first), doc.blocks.end(), has_atoms);
        doc.blocks.erase(std::remove_if(std::next(first), doc.blocks.end(), has_atoms), doc.blocks.end());
        std::rotate(doc.blocks.begin(), first, std::next(first));
        if (others > 0)
          log_warn("{}: {} data blocks hold coordinates; the first, data_{}, is read (one structure per file)", source,
                   others + 1, name);
      }
      if (!doc.blocks.empty()) {
        prepare_mmcif_block(doc.blocks.front(), source);
      }
      st = gemmi::make_structure_from_doc(doc, true);
    } else {
      // A TER record starts a new gemmi chain even where the chain name goes on (Amber, OpenMM and GROMACS
      // write complexes so): gemmi's default marks the residues after a chain's first TER non-polymer, and
      // joins a molecule numbered from 1 again with the first one's residues.
      gemmi::PdbReadOptions options;
      options.split_chain_on_ter = true;
      st = gemmi::read_pdb_from_memory(text.data(), text.size(), source, options);
    }
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    fail_input("{}: not a readable PDB/mmCIF file: {}", source, one_line(e.what()));
  }
  if (st.models.empty()) fail_input("{}: no models (no atoms) in the structure file", source);
  if (st.models.size() > 1) log_info("{}: {} models (an ensemble): the first is read", source, st.models.size());
  labels_read =
      st.input_format == gemmi::CoorFormat::Mmcif &&
      std::all_of(st.models.front().chains.begin(), st.models.front().chains.end(), [](const gemmi::Chain& c) {
        return std::all_of(c.residues.begin(), c.residues.end(),
                           [](const gemmi::Residue& r) { return !r.subchain.empty(); });
      });
  gemmi::setup_entities(st);  // entity types: which HETATM residues belong to a chain's polymer
  return st;
}

// What a structure's reading left out or read otherwise than written, said in one warning each at the end.
struct ReadNotes {
  std::vector<std::string> skipped, renamed, unknown;  // residues not read, read under a parent's name, as UNK
  std::vector<std::string> unread_atoms;               // heavy atoms not read: no atom of their residue type
  int64_t nucleotides = 0, waters = 0, ligands = 0, hydrogens = 0;

  static void list(std::vector<std::string>& names, std::string what) {
    if (names.size() < 10) names.push_back(std::move(what));
  }

  void warn(const std::string& source) const {
    const auto more = [](const std::vector<std::string>& names) { return names.size() == 10 ? ", ..." : ""; };
    if (nucleotides > 0) log_warn("{}: {} nucleotides (DNA/RNA) are not read", source, nucleotides);
    if (hydrogens > 0)
      log_warn("{}: {} hydrogen atoms are not read (kfold models heavy atoms: checks and relax use and write none)",
               source, hydrogens);
    if (waters > 0 || ligands > 0)
      log_warn("{}: {} waters and {} ligand groups (HETATM: ions, small molecules) are not read, checked or written",
               source, waters, ligands);
    if (!unread_atoms.empty())
      log_warn("{}: atoms whose names are not their residue's (AlphaFold's atom names) are not read or checked: {}{}",
               source, fmt::join(unread_atoms, ", "), more(unread_atoms));
    if (!skipped.empty())
      log_warn(
          "{}: residues in the chains that are not one of the 20 amino acids are not read (modified residues, "
          "caps): {}{}",
          source, fmt::join(skipped, ", "), more(skipped));
    if (!renamed.empty())
      log_warn("{}: force-field residue names read (and written) as their amino acid: {}{}", source,
               fmt::join(renamed, ", "), more(renamed));
    if (!unknown.empty())
      log_warn("{}: residues named UNK are read as their backbone (N, CA, C, O) and take no part in the checks: {}{}",
               source, fmt::join(unknown, ", "), more(unknown));
  }
};

// Residues given twice under one number with altloc labels (microheterogeneity: two residue types at one
// position): the one of highest mean occupancy, by number.
std::map<gemmi::SeqId, const gemmi::Residue*> preferred_residue_types(const gemmi::Chain& chain) {
  std::map<gemmi::SeqId, std::pair<const gemmi::Residue*, double>> best;
  for (const gemmi::Residue& res : chain.residues) {
    double occupancy = 0.0;
    int64_t labelled = 0;
    for (const gemmi::Atom& atom : res.atoms)
      if (atom.altloc != '\0') occupancy += atom.occ, ++labelled;
    if (labelled == 0) continue;
    const double mean = occupancy / static_cast<double>(labelled);
    if (auto [it, first] = best.try_emplace(res.seqid, &res, mean); !first && mean > it->second.second)
      it->second = {&res, mean};
  }
  std::map<gemmi::SeqId, const gemmi::Residue*> preferred;
  for (const auto& [seqid, entry] : best) preferred.emplace(seqid, entry.first);
  return preferred;
}

// The heavy atoms of residue `res` (read as `name`, residue type `aa`; `unknown_type`: UNK, its backbone alone) in
// conformer `conformer`, into the atom37 slots of the protein's last residue.
void read_residue_atoms(const gemmi::Chain& chain, const gemmi::Residue& res, const std::string& name, int64_t aa,
                        bool unknown_type, bool selenomethionine, char conformer, const std::string& source, Protein& p,
                        ReadNotes& notes) {
  const size_t base = p.atom_mask.size();
  p.atom_mask.resize(base + rc::atom_type_num, 0.0f);
  p.b_factors.resize(base + rc::atom_type_num, 0.0f);
  p.atom_positions.resize(3 * (base + rc::atom_type_num), 0.0f);
  std::array<char, rc::atom_type_num> kept_altloc{};  // of each atom read
  for (const gemmi::Atom& atom : res.atoms) {
    if (atom.altloc != '\0' && atom.altloc != conformer) continue;
    const int64_t a = rc::find_atom_type(atom37_name(name, atom.name, selenomethionine));
    // An atom its residue type does not have (OXT aside) would be written back but never checked or moved.
    static const int64_t oxt = rc::find_atom_type("OXT");
    static const int64_t backbone[] = {rc::find_atom_type("N"), rc::find_atom_type("CA"), rc::find_atom_type("C"),
                                       rc::find_atom_type("O"), oxt};
    if (unknown_type && a >= 0 && std::find(std::begin(backbone), std::end(backbone), a) == std::end(backbone))
      continue;  // a side-chain atom of UNK: not read (the warning says so)
    if (a < 0 || (!unknown_type && a != oxt &&
                  rc::restype_atom37_mask()[static_cast<size_t>(aa)][static_cast<size_t>(a)] < 0.5f)) {
      if (atom.is_hydrogen())
        ++notes.hydrogens;
      else
        ReadNotes::list(notes.unread_atoms,
                        fmt::format("{} of {} {}{}", atom.name, res.name, chain.name, res.seqid.str()));
      continue;
    }
    // Beyond 1e6 Å a coordinate is no structure's (and past float's range it would become inf).
    if (!(std::abs(atom.pos.x) <= kMaxCoordinate && std::abs(atom.pos.y) <= kMaxCoordinate &&
          std::abs(atom.pos.z) <= kMaxCoordinate))
      fail_input(
          "{}: atom {} {} of residue {} {}{} has a coordinate that is not a number or beyond ±1e6 Å ({}); fix or "
          "remove it",
          source, atom.serial, atom.name, res.name, chain.name, res.seqid.str(), atom.pos.str());
    const size_t k = base + static_cast<size_t>(a);
    if (p.atom_mask[k] > 0.5f) {
      // The same atom twice (gemmi joins the lines of one residue number, wherever they are in the file): which
      // one is meant is not for kfold to guess.
      if (kept_altloc[static_cast<size_t>(a)] == atom.altloc)
        fail_input(
            "{}: atom {} of residue {} {}{} is given twice{}; remove one, or label them as alternative locations",
            source, atom.name, res.name, chain.name, res.seqid.str(),
            atom.altloc == '\0' ? "" : fmt::format(" with altloc {}", atom.altloc));
      continue;
    }
    kept_altloc[static_cast<size_t>(a)] = atom.altloc;
    if (!std::isfinite(atom.b_iso))  // it would go on into the files written from this structure
      fail_input("{}: atom {} of residue {} {}{} has a B-factor that is not a number ({}); write a number there",
                 source, atom.name, res.name, chain.name, res.seqid.str(), atom.b_iso);
    p.atom_mask[k] = 1.0f;
    p.b_factors[k] = atom.b_iso;
    p.atom_positions[3 * k] = static_cast<float>(atom.pos.x);
    p.atom_positions[3 * k + 1] = static_cast<float>(atom.pos.y);
    p.atom_positions[3 * k + 2] = static_cast<float>(atom.pos.z);
  }
}

// Whether an mmCIF file ends a molecule between residues `a` and `b` (read one after the other) of one
// auth_asym_id: another label_asym_id (entity instance). (In a PDB file a TER record does so: its molecules are
// gemmi chains of their own, read_gemmi_structure.)
bool another_entity_instance(const gemmi::Residue& a, const gemmi::Residue& b) {
  return !a.subchain.empty() && !b.subchain.empty() && a.subchain != b.subchain;
}

// The protein residues of `chain` into `p` as chain `chain_number`; whether it had any.
bool read_chain(const gemmi::Chain& chain, int64_t chain_number, bool mmcif, const std::string& source, Protein& p,
                ReadNotes& notes) {
  bool any = false;
  const gemmi::Residue* last_read = nullptr;
  struct Numbered {
    std::string name, segment;
    bool altlocs;
  };
  std::map<gemmi::SeqId, Numbered> numbered;  // the residues read, by number
  const auto preferred = preferred_residue_types(chain);
  for (const gemmi::Residue& res : chain.residues) {
    if (res.is_water()) {
      ++notes.waters;
      continue;
    }
    const gemmi::ResidueInfo info = gemmi::find_tabulated_residue(res.name);
    if (info.is_nucleic_acid()) {
      ++notes.nucleotides;  // DNA/RNA: not a protein residue
      continue;
    }
    // Residues are told by name, not by ATOM/HETATM: the 20 amino acids, force fields' names of their
    // protonation states (HIE, CYX, ...) and selenomethionine (its SE read as SD, as AlphaFold's mmCIF
    // parser does). Modified residues (SEP, ...) and caps (ACE, NME) are not read; a HETATM amino acid
    // outside the polymer and bonded to no neighbour is a ligand (a free amino acid).
    const std::string name = amino_acid_name(res.name);
    const bool selenomethionine = res.name == "MSE";
    const int64_t aa = rc::find_resname(name);
    if (aa < 0 && name != "UNK") {
      if (res.entity_type == gemmi::EntityType::Polymer || res.het_flag != 'H')
        ReadNotes::list(notes.skipped, fmt::format("{} {}{}", res.name, chain.name, res.seqid.str()));
      else
        ++notes.ligands;
      continue;
    }
    if (res.het_flag == 'H' && !selenomethionine && res.entity_type != gemmi::EntityType::Polymer &&
        !peptide_bonded_to_neighbour(chain, static_cast<size_t>(&res - chain.residues.data()))) {
      ++notes.ligands;
      continue;
    }
    const auto number = res.seqid.num;
    if (!number.has_value())
      fail_input("{}: residue {} of chain {} has no residue number (auth_seq_id, label_seq_id; -999 counts as none)",
                 source, res.name, chain.name);
    const char conformer = most_occupied_altloc(res);
    if (const auto v = preferred.find(res.seqid); conformer != '\0' && v != preferred.end() && v->second != &res)
      continue;  // a less occupied residue type at this position
    // The same number twice without altloc labels: one residue would silently vanish.
    auto [earlier, first] = numbered.try_emplace(res.seqid, Numbered{res.name, res.segment, conformer != '\0'});
    if (!first) {
      if (!earlier->second.altlocs && conformer == '\0')
        fail_input("{}: chain {} has two residues numbered {} ({} and {}) and no alternative-location labels: {}",
                   source, chain.name, res.seqid.str(), earlier->second.name, res.name,
                   earlier->second.segment != res.segment
                       ? fmt::format("their segment ids differ ('{}' and '{}', PDB columns 73-76); if the segments "
                                     "are separate chains, give them different chain ids (column 22), else give a "
                                     "residue's atoms one segment id",
                                     earlier->second.segment, res.segment)
                       : std::string("give one an insertion code or renumber the chain"));
      continue;
    }
    if (name != res.name && !selenomethionine)
      ReadNotes::list(notes.renamed, fmt::format("{} {}{}", res.name, chain.name, res.seqid.str()));
    // UNK (find_resname gives it the catch-all index): its backbone is read, no side chain.
    const bool unknown_type = aa < 0 || aa == rc::unk_restype_index;
    if (unknown_type) ReadNotes::list(notes.unknown, fmt::format("{}{}", chain.name, res.seqid.str()));
    any = true;
    if (mmcif && last_read != nullptr && another_entity_instance(*last_read, res)) p.ends_molecule.back() = 1;
    last_read = &res;
    p.ends_molecule.push_back(0);
    p.aatype.push_back(unknown_type ? rc::unk_restype_index : aa);
    p.residue_index.push_back(number.value);
    p.insertion_code.push_back(res.seqid.icode == '\0' ? ' ' : res.seqid.icode);
    if (mmcif) p.label_asym_ids.push_back(res.subchain);
    p.chain_index.push_back(chain_number);
    read_residue_atoms(chain, res, name, aa, unknown_type, selenomethionine, conformer, source, p, notes);
  }
  return any;
}

// A one-character chain name no chain in `taken` has (PDB's column 22 holds one): A-Z, a-z, 0-9; InputError
// naming `source` when all 62 are taken.
std::string free_chain_name(const std::set<std::string>& taken, const std::string& source) {
  for (const char c : std::string_view("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
    if (!taken.contains(std::string(1, c))) return std::string(1, c);
  fail_input("{}: more chains without a name of their own than the 62 one-character names; give them chain ids",
             source);
}

}  // namespace

Protein parse_structure(std::string text, const std::string& source) {
  bool labels_read = false;
  const gemmi::Structure st = read_gemmi_structure(std::move(text), source, labels_read);
  Protein p;
  ReadNotes notes;
  int64_t chain_number = 0;
  const bool mmcif = st.input_format == gemmi::CoorFormat::Mmcif;
  std::set<std::string> taken;  // every chain name of the file
  for (const gemmi::Chain& chain : st.models.front().chains) taken.insert(chain.name);
  const gemmi::Chain* previous = nullptr;  // the gemmi chain before, and whether it had protein residues
  bool previous_read = false;
  for (const gemmi::Chain& chain : st.models.front().chains) {
    const int64_t last = p.n_res() - 1;
    const bool read = read_chain(chain, chain_number, mmcif, source, p, notes);
    std::string name = chain.name;
    if (read && previous_read && previous->name == chain.name) {
      // Two molecules of one chain name a TER record parted: the first ends there. Numbered from the start
      // again (GROMACS's homodimers), the second gets a name of its own: one chain's numbers must not repeat
      // (an mmCIF reader joins such residues).
      p.ends_molecule[static_cast<size_t>(last)] = 1;
      if (!name.empty() &&
          p.residue_index[static_cast<size_t>(last + 1)] <= p.residue_index[static_cast<size_t>(last)]) {
        name = free_chain_name(taken, source);
        taken.insert(name);
        log_warn(
            "{}: chain {}: the molecule after the TER before residue {} numbers its residues again: read as "
            "chain {}",
            source, chain.name, p.residue_index[static_cast<size_t>(last + 1)], name);
      }
    }
    if (read) {
      p.chain_names.push_back(name);
      ++chain_number;
    }
    previous = &chain;
    previous_read = read;
  }
  // A blank chain name (PDB column 22 empty) gets the first name no other chain has: mmCIF needs one.
  std::vector<std::string> named;
  for (auto& name : p.chain_names)
    if (name.empty() || name == " ") {
      name = free_chain_name(taken, source);
      taken.insert(name);
      named.push_back(name);
    }
  if (!named.empty())
    log_warn("{}: {} chain(s) without a name (PDB column 22 blank) are read as chain(s) {}", source, named.size(),
             fmt::join(named, ", "));
  notes.warn(source);
  if (!labels_read) p.label_asym_ids.clear();  // gemmi's names, not the file's: named after the chains when written
  if (p.n_res() == 0) fail_input("{}: no protein residues found", source);
  if (std::none_of(p.atom_mask.begin(), p.atom_mask.end(), [](float m) { return m > 0.5f; }))
    fail_input(
        "{}: {} protein residues but none of their heavy atoms (hydrogens only, or atom names that are not "
        "the residues'?); give a structure with heavy atoms",
        source, p.n_res());
  return p;
}

}  // namespace kfold::data
