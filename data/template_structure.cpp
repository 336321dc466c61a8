// mmCIF → TemplateStructure through gemmi's CIF parser, reading the categories AlphaFold's
// mmcif_parsing reads (_entity_poly_seq, _chem_comp, _struct_asym, _atom_site, the revision history).
#include "data/template_structure.hpp"
#include "data/sequence.hpp"

#include <gemmi/cif.hpp>
#include <gemmi/gz.hpp>
#include <gemmi/numb.hpp>
#include <gemmi/resinfo.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "data/error.hpp"
#include "data/residue_constants.hpp"
#include "data/text_input.hpp"

namespace kfold::data {

namespace cif = gemmi::cif;

const TemplateChain* TemplateStructure::chain(std::string_view id) const {
  for (const TemplateChain& c : chains)
    if (c.id == id) return &c;
  return nullptr;
}

namespace {

// One letter for a SEQRES monomer: the standard amino acids, modified ones as their parent (MSE → M,
// from gemmi's table of common components), anything else X.
char monomer_letter(const std::string& mon_id) {
  const gemmi::ResidueInfo info = gemmi::find_tabulated_residue(mon_id);
  if (!info.is_amino_acid()) return 'X';
  const char letter = static_cast<char>(info.one_letter_code & ~0x20);  // upper case
  return letter >= 'A' && letter <= 'Z' ? letter : 'X';
}

// Biopython's float → numpy float32: the decimal parsed to double, then rounded to float.
float parse_real(const std::string& text, const std::string& source, const char* tag) {
  const std::optional<double> value = parse_decimal(text);
  // Beyond 1e6 (Å, or occupancy) no structure's value, and past float's range it would become inf.
  if (!value || !(std::abs(*value) <= 1e6)) fail_input("{}: {} '{}' is not a number within ±1e6", source, tag, text);
  return static_cast<float>(*value);
}

int64_t parse_integer(const std::string& text, const std::string& source, const char* tag) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty())
    fail_input("{}: {} '{}' is not an integer", source, tag, text);
  return value;
}

// AlphaFold's fix of arginines whose NH1 and NH2 are swapped (NH1 must be the one nearer CD): the
// two atoms trade places when all three are present and NH1 is farther from CD than NH2.
void fix_arginine_names(const std::vector<std::string>& residue_names, std::vector<float>& positions,
                        const std::vector<float>& mask) {
  static const int64_t cd = rc::find_atom_type("CD"), nh1 = rc::find_atom_type("NH1"), nh2 = rc::find_atom_type("NH2");
  const auto at = [](size_t residue, int64_t atom) { return residue * rc::atom_type_num + static_cast<size_t>(atom); };
  const auto distance = [&](size_t a, size_t b) {  // float32, as numpy's norm of float32 coordinates
    float sum = 0.0f;
    for (size_t d = 0; d < 3; ++d) {
      const float delta = positions[3 * a + d] - positions[3 * b + d];
      sum += delta * delta;
    }
    return std::sqrt(sum);
  };
  for (size_t r = 0; r < residue_names.size(); ++r) {
    if (residue_names[r] != "ARG" || mask[at(r, cd)] == 0 || mask[at(r, nh1)] == 0 || mask[at(r, nh2)] == 0) continue;
    if (distance(at(r, nh1), at(r, cd)) > distance(at(r, nh2), at(r, cd)))
      for (size_t d = 0; d < 3; ++d) std::swap(positions[3 * at(r, nh1) + d], positions[3 * at(r, nh2) + d]);
  }
}

struct EntityPolymer {
  std::vector<std::string> monomers;  // _entity_poly_seq.mon_id in file order
  int64_t first_num = 0;              // min(_entity_poly_seq.num)
};

// Polymer entities in order of first appearance, with their monomers.
struct Polymers {
  std::vector<std::string> order;
  std::map<std::string, EntityPolymer> by_entity;
};

// A protein label chain (AlphaFold's valid_chains: an entity with any peptide-like monomer) as it is read.
struct LabelChain {
  const EntityPolymer* polymer;
  std::string author_id;
  std::vector<float> positions, mask;
  std::vector<std::map<std::string, float>> best_occupancy;  // per position: atom name → occupancy kept
  std::vector<std::string> residue_names;                    // per position: _atom_site.label_comp_id
  std::map<int64_t, std::set<std::string>> replaced_names;   // microheterogeneity: types no longer read
};

struct LabelChains {
  std::vector<std::string> order;
  std::map<std::string, LabelChain> by_id;
};

// _atom_site columns, in the order `read_atom_sites` asks for them.
enum AtomColumn { kAtomName, kCompId, kAsymId, kSeqId, kAuthAsymId, kX, kY, kZ, kOccupancy, kModel };

cif::Document read_document(const std::string& source) {
  cif::Document doc;
  try {
    doc = cif::read(gemmi::MaybeGzipped(source));
  } catch (const std::exception& e) {
    // gemmi decompresses by the name: gzip data under a plain .cif name fails as text.
    if (!source.ends_with(".gz") && starts_with_gzip_data(source))
      fail_input("{}: gzip-compressed data in a file named without .gz: rename it <pdb id>.cif.gz", source);
    fail_input("{}: not a readable mmCIF file: {} (a damaged or cut download? fetch the entry again)", source,
               one_line(e.what()));
  }
  if (doc.blocks.empty())
    fail_input("{}: no data block in the mmCIF file (empty or cut short? fetch the entry again)", source);
  return doc;
}

// The entry's release date: the earliest _pdbx_audit_revision_history.revision_date or, in a file of the older
// mmCIF dictionary without that category (mirrors from before the PDB's 2017 remediation), the earliest
// _database_PDB_rev.date (revision 1 is the release; date_original is the deposition). "" when neither is
// there. A date that is no YYYY-MM-DD is an InputError (the template is skipped with a warning naming it):
// compared as text with --max-template-date, it excluded the entry as "released notadate, after the max template
// date" (AlphaFold's strptime raises).
std::string earliest_release_date(cif::Block& block, const std::string& source) {
  for (const char* tag : {"_pdbx_audit_revision_history.revision_date", "_database_PDB_rev.date"}) {
    std::string earliest;
    for (const std::string& date : block.find_values(tag)) {
      const std::string d = cif::as_string(date);
      if (d.empty() || cif::is_null(date)) continue;
      const bool iso = d.size() == 10 && d[4] == '-' && d[7] == '-' &&
                       std::all_of(d.begin(), d.end(), [](char c) { return c == '-' || (c >= '0' && c <= '9'); });
      if (!iso) fail_input("{}: {} '{}' is no date (YYYY-MM-DD); a damaged file", source, tag, d);
      if (earliest.empty() || d < earliest) earliest = d;
    }
    if (!earliest.empty()) return earliest;
  }
  return {};
}

Polymers read_polymers(cif::Block& block, const std::string& source) {
  Polymers polymers;
  for (cif::Table::Row row : block.find("_entity_poly_seq.", {"entity_id", "num", "mon_id"})) {
    const std::string entity = row.str(0);
    auto [it, inserted] = polymers.by_entity.try_emplace(entity);
    if (inserted) polymers.order.push_back(entity);
    const int64_t num = parse_integer(row.str(1), source, "_entity_poly_seq.num");
    if (inserted || num < it->second.first_num) it->second.first_num = num;
    it->second.monomers.push_back(row.str(2));
  }
  return polymers;
}

// The protein label chains of the polymers (_chem_comp types, _struct_asym chains), in entity order,
// their arrays still empty.
LabelChains protein_label_chains(cif::Block& block, const std::string& source, const Polymers& polymers) {
  std::map<std::string, bool> peptide_component;
  for (cif::Table::Row row : block.find("_chem_comp.", {"id", "type"})) {
    std::string type = row.str(1);
    std::transform(type.begin(), type.end(), type.begin(), to_ascii_lower);  // not std::tolower: Turkish 'I'

    peptide_component[row.str(0)] = type.find("peptide") != std::string::npos;
  }
  std::multimap<std::string, std::string> entity_chains;  // entity → label_asym_ids, in file order
  std::map<std::string, std::string> asym_entity;         // label_asym_id → entity, to find one given twice
  for (cif::Table::Row row : block.find("_struct_asym.", {"id", "entity_id"})) {
    // A chain listed twice would be read twice (once with its arrays already moved out).
    if (const auto [it, first] = asym_entity.try_emplace(row.str(0), row.str(1)); !first)
      fail_input("{}: _struct_asym.id {} is given twice (entity {} and entity {})", source, row.str(0), it->second,
                 row.str(1));
    entity_chains.emplace(row.str(1), row.str(0));
  }
  LabelChains chains;
  for (const std::string& entity : polymers.order) {
    const EntityPolymer& polymer = polymers.by_entity.at(entity);
    const bool protein = std::any_of(polymer.monomers.begin(), polymer.monomers.end(), [&](const std::string& m) {
      const auto it = peptide_component.find(m);
      return it != peptide_component.end() && it->second;
    });
    if (!protein) continue;
    auto [first, last] = entity_chains.equal_range(entity);
    for (auto it = first; it != last; ++it) {
      chains.order.push_back(it->second);
      chains.by_id[it->second] = LabelChain{&polymer, "", {}, {}, {}, {}, {}};  // arrays at its first atom
    }
  }
  if (chains.by_id.empty()) fail_input("{}: no protein chains (_entity_poly_seq with peptide monomers)", source);
  return chains;
}

// The position of an _atom_site row in its chain's _entity_poly_seq (InputError outside it).
int64_t residue_position(const cif::Table::Row& row, const LabelChain& chain, const std::string& source) {
  const int64_t seq_id = parse_integer(row.str(kSeqId), source, "_atom_site.label_seq_id");
  // The offset from the first _entity_poly_seq.num, in unsigned arithmetic: the difference of two int64
  // values (e.g. -2^63 and 1) may not fit int64.
  const uint64_t offset = static_cast<uint64_t>(seq_id) - static_cast<uint64_t>(chain.polymer->first_num);
  if (seq_id < chain.polymer->first_num || offset >= chain.polymer->monomers.size())
    fail_input("{}: _atom_site.label_seq_id {} is outside chain {}'s _entity_poly_seq", source, row.str(kSeqId),
               row.str(kAsymId));
  return static_cast<int64_t>(offset);
}

// Keeps the residue type of `row` at `index` of `chain`. False when the row's atoms are not read: two residue
// types at one position (microheterogeneity, under altloc labels) — Biopython's DisorderedResidue selects
// the type added last, and AlphaFold reads that type's atoms only: never a mixture of the two.
bool take_residue_type(LabelChain& chain, int64_t index, const std::string& type) {
  const auto r = static_cast<size_t>(index);
  std::string& current = chain.residue_names[r];
  if (current.empty()) {
    current = type;
  } else if (current != type) {
    auto& replaced = chain.replaced_names[index];
    if (replaced.count(type) > 0) return false;
    replaced.insert(std::exchange(current, type));
    std::fill_n(chain.mask.begin() + index * rc::atom_type_num, rc::atom_type_num, 0.0f);
    std::fill_n(chain.positions.begin() + 3 * index * rc::atom_type_num, 3 * rc::atom_type_num, 0.0f);
    chain.best_occupancy[r].clear();
  }
  return true;
}

// Reads the first model's atoms of the label chains into their arrays (sized at a chain's first atom, at
// most `max_chain_residues` residues in all).
void read_atom_sites(cif::Block& block, const std::string& source, LabelChains& chains, int64_t max_chain_residues) {
  cif::Table atoms =
      block.find("_atom_site.", {"label_atom_id", "label_comp_id", "label_asym_id", "label_seq_id", "auth_asym_id",
                                 "Cartn_x", "Cartn_y", "Cartn_z", "?occupancy", "?pdbx_PDB_model_num"});
  if (atoms.length() == 0) fail_input("{}: no _atom_site records", source);
  int64_t chain_residues = 0;
  std::optional<std::string> first_model;
  for (cif::Table::Row row : atoms) {
    if (row.has(kModel)) {
      const std::string model = row.str(kModel);
      if (!first_model) first_model = model;
      if (model != *first_model) continue;
    }
    const auto chain_it = chains.by_id.find(row.str(kAsymId));
    if (chain_it == chains.by_id.end() || cif::is_null(row[kSeqId])) continue;
    LabelChain& chain = chain_it->second;
    if (chain.residue_names.empty()) {
      const size_t n = chain.polymer->monomers.size();
      if ((chain_residues += static_cast<int64_t>(n)) > max_chain_residues)
        fail_input(
            "{}: its protein chains with atoms span more than {} _entity_poly_seq residues in all (chain {}, of {} "
            "residues, passes it): more than a template can have; is the file damaged?",
            source, max_chain_residues, row.str(kAsymId), n);
      chain.positions.assign(n * rc::atom_type_num * 3, 0.0f);
      chain.mask.assign(n * rc::atom_type_num, 0.0f);
      chain.best_occupancy.resize(n);
      chain.residue_names.resize(n);
    }
    chain.author_id = row.str(kAuthAsymId);
    const int64_t index = residue_position(row, chain, source);
    if (!take_residue_type(chain, index, row.str(kCompId))) continue;
    std::string atom_name = row.str(kAtomName);
    if (row.str(kCompId) == "MSE" && atom_name == "SE") atom_name = "SD";
    const int64_t atom = rc::find_atom_type(atom_name);
    if (atom < 0) continue;
    const float occupancy =
        row.has2(kOccupancy) ? parse_real(row.str(kOccupancy), source, "_atom_site.occupancy") : 1.0f;
    // Alternative locations: keep the first with the highest occupancy (Biopython's DisorderedAtom).
    auto [kept, inserted] = chain.best_occupancy[static_cast<size_t>(index)].try_emplace(atom_name, occupancy);
    if (!inserted) {
      if (!(occupancy > kept->second)) continue;
      kept->second = occupancy;
    }
    const size_t k = static_cast<size_t>(index * rc::atom_type_num + atom);
    chain.mask[k] = 1.0f;
    for (int d = 0; d < 3; ++d) chain.positions[3 * k + d] = parse_real(row.str(kX + d), source, "_atom_site.Cartn");
  }
}

}  // namespace

TemplateStructure read_template_structure(const std::filesystem::path& path, int64_t max_chain_residues) {
  check_input_file(path);
  const std::string source = path.string();
  cif::Document doc = read_document(source);
  cif::Block& block = doc.blocks.front();

  TemplateStructure out;
  out.source = source;
  out.release_date = earliest_release_date(block, source);
  const Polymers polymers = read_polymers(block, source);
  LabelChains chains = protein_label_chains(block, source, polymers);
  read_atom_sites(block, source, chains, max_chain_residues);
  for (const std::string& label : chains.order) {
    LabelChain& chain = chains.by_id.at(label);
    if (chain.author_id.empty()) continue;  // no atoms: AlphaFold cannot name it either
    fix_arginine_names(chain.residue_names, chain.positions, chain.mask);
    TemplateChain c;
    c.id = chain.author_id;
    for (const std::string& monomer : chain.polymer->monomers) c.sequence += monomer_letter(monomer);
    c.atom_positions = std::move(chain.positions);
    c.atom_mask = std::move(chain.mask);
    out.chains.push_back(std::move(c));
  }
  if (out.chains.empty()) fail_input("{}: no atom records for any protein chain", source);
  return out;
}

}  // namespace kfold::data
