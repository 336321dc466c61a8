// mmCIF → TemplateStructure through gemmi's CIF parser, reading the categories AlphaFold's
// mmcif_parsing reads (_entity_poly_seq, _chem_comp, _struct_asym, _atom_site, the revision history).
#include "data/template_structure.hpp"

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
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  // Beyond 1e6 (Å, or occupancy) no structure's value, and past float's range it would become inf.
  if (end == text.c_str() || *end != '\0' || !(std::abs(value) <= 1e6))
    fail_input("{}: {} '{}' is not a number within ±1e6", source, tag, text);
  return static_cast<float>(value);
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

}  // namespace

TemplateStructure read_template_structure(const std::filesystem::path& path, int64_t max_chain_residues) {
  check_input_file(path);
  const std::string source = path.string();
  cif::Document doc;
  try {
    doc = cif::read(gemmi::MaybeGzipped(source));
  } catch (const std::exception& e) {
    fail_input("{}: not a readable mmCIF file: {}", source, e.what());
  }
  if (doc.blocks.empty()) fail_input("{}: no data block in the mmCIF file", source);
  cif::Block& block = doc.blocks.front();

  TemplateStructure out;
  out.source = source;
  for (const std::string& date : block.find_values("_pdbx_audit_revision_history.revision_date")) {
    const std::string d = cif::as_string(date);
    if (!d.empty() && (out.release_date.empty() || d < out.release_date)) out.release_date = d;
  }

  // Polymer entities in order of first appearance, with their monomers.
  std::vector<std::string> entity_order;
  std::map<std::string, EntityPolymer> polymers;
  for (cif::Table::Row row : block.find("_entity_poly_seq.", {"entity_id", "num", "mon_id"})) {
    const std::string entity = row.str(0);
    auto [it, inserted] = polymers.try_emplace(entity);
    if (inserted) entity_order.push_back(entity);
    const int64_t num = parse_integer(row.str(1), source, "_entity_poly_seq.num");
    if (inserted || num < it->second.first_num) it->second.first_num = num;
    it->second.monomers.push_back(row.str(2));
  }
  std::map<std::string, bool> peptide_component;
  for (cif::Table::Row row : block.find("_chem_comp.", {"id", "type"})) {
    std::string type = row.str(1);
    std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
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

  // Protein label chains (AlphaFold's valid_chains): entities with any peptide-like monomer.
  struct LabelChain {
    const EntityPolymer* polymer;
    std::string author_id;
    std::vector<float> positions, mask;
    std::vector<std::map<std::string, float>> best_occupancy;  // per position: atom name → occupancy kept
    std::vector<std::string> residue_names;                    // per position: _atom_site.label_comp_id
    std::map<int64_t, std::set<std::string>> replaced_names;   // microheterogeneity: types no longer read
  };
  std::vector<std::string> label_order;
  std::map<std::string, LabelChain> label_chains;
  for (const std::string& entity : entity_order) {
    const EntityPolymer& polymer = polymers.at(entity);
    const bool protein = std::any_of(polymer.monomers.begin(), polymer.monomers.end(), [&](const std::string& m) {
      const auto it = peptide_component.find(m);
      return it != peptide_component.end() && it->second;
    });
    if (!protein) continue;
    auto [first, last] = entity_chains.equal_range(entity);
    for (auto it = first; it != last; ++it) {
      label_order.push_back(it->second);
      label_chains[it->second] = LabelChain{&polymer, "", {}, {}, {}, {}, {}};  // arrays at its first atom
    }
  }
  int64_t chain_residues = 0;
  if (label_chains.empty()) fail_input("{}: no protein chains (_entity_poly_seq with peptide monomers)", source);

  cif::Table atoms =
      block.find("_atom_site.", {"label_atom_id", "label_comp_id", "label_asym_id", "label_seq_id", "auth_asym_id",
                                 "Cartn_x", "Cartn_y", "Cartn_z", "?occupancy", "?pdbx_PDB_model_num"});
  if (atoms.length() == 0) fail_input("{}: no _atom_site records", source);
  std::optional<std::string> first_model;
  for (cif::Table::Row row : atoms) {
    if (row.has(9)) {
      const std::string model = row.str(9);
      if (!first_model) first_model = model;
      if (model != *first_model) continue;
    }
    const auto chain_it = label_chains.find(row.str(2));
    if (chain_it == label_chains.end() || cif::is_null(row[3])) continue;
    LabelChain& chain = chain_it->second;
    if (chain.residue_names.empty()) {
      const size_t n = chain.polymer->monomers.size();
      if ((chain_residues += static_cast<int64_t>(n)) > max_chain_residues)
        fail_input(
            "{}: its protein chains with atoms span more than {} _entity_poly_seq residues in all (chain {}, of {} "
            "residues, passes it): more than a template can have; is the file damaged?",
            source, max_chain_residues, row.str(2), n);
      chain.positions.assign(n * rc::atom_type_num * 3, 0.0f);
      chain.mask.assign(n * rc::atom_type_num, 0.0f);
      chain.best_occupancy.resize(n);
      chain.residue_names.resize(n);
    }
    chain.author_id = row.str(4);
    const int64_t seq_id = parse_integer(row.str(3), source, "_atom_site.label_seq_id");
    // The offset from the first _entity_poly_seq.num, in unsigned arithmetic: the difference of two int64
    // values (e.g. -2^63 and 1) may not fit int64.
    const uint64_t offset = static_cast<uint64_t>(seq_id) - static_cast<uint64_t>(chain.polymer->first_num);
    if (seq_id < chain.polymer->first_num || offset >= chain.polymer->monomers.size())
      fail_input("{}: _atom_site.label_seq_id {} is outside chain {}'s _entity_poly_seq", source, row.str(3),
                 row.str(2));
    const auto index = static_cast<int64_t>(offset);
    std::string atom_name = row.str(0);
    const auto r = static_cast<size_t>(index);
    if (std::string& current = chain.residue_names[r]; current.empty()) {
      current = row.str(1);
    } else if (current != row.str(1)) {
      // Two residue types at one position (microheterogeneity, under altloc labels): Biopython's
      // DisorderedResidue selects the type added last, and AlphaFold reads that type's atoms only: never a
      // mixture of the two.
      auto& replaced = chain.replaced_names[index];
      if (replaced.count(row.str(1)) > 0) continue;
      replaced.insert(std::exchange(current, row.str(1)));
      std::fill_n(chain.mask.begin() + index * rc::atom_type_num, rc::atom_type_num, 0.0f);
      std::fill_n(chain.positions.begin() + 3 * index * rc::atom_type_num, 3 * rc::atom_type_num, 0.0f);
      chain.best_occupancy[r].clear();
    }
    if (row.str(1) == "MSE" && atom_name == "SE") atom_name = "SD";
    const int64_t atom = rc::find_atom_type(atom_name);
    if (atom < 0) continue;
    const float occupancy = row.has2(8) ? parse_real(row.str(8), source, "_atom_site.occupancy") : 1.0f;
    // Alternative locations: keep the first with the highest occupancy (Biopython's DisorderedAtom).
    auto [kept, inserted] = chain.best_occupancy[r].try_emplace(atom_name, occupancy);
    if (!inserted) {
      if (!(occupancy > kept->second)) continue;
      kept->second = occupancy;
    }
    const size_t k = static_cast<size_t>(index * rc::atom_type_num + atom);
    chain.mask[k] = 1.0f;
    for (int d = 0; d < 3; ++d) chain.positions[3 * k + d] = parse_real(row.str(5 + d), source, "_atom_site.Cartn");
  }

  for (const std::string& label : label_order) {
    LabelChain& chain = label_chains.at(label);
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
