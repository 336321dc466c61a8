// What kfold adds to gemmi's mmCIF blocks (see mmcif_annotations.hpp).
#include "data/mmcif_annotations.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/residue_constants.hpp"

namespace kfold::data {

namespace {

// gemmi 0.5 writes auth_comp_id/auth_atom_id only where they differ from the label_* values, but
// most readers (biotite, PyMOL, ChimeraX) look for them: add both columns to _atom_site.
void add_auth_columns(gemmi::cif::Block& block) {
  auto item = std::find_if(block.items.begin(), block.items.end(), [](const gemmi::cif::Item& i) {
    return i.type == gemmi::cif::ItemType::Loop && i.loop.has_tag("_atom_site.id");
  });
  if (item == block.items.end()) return;
  gemmi::cif::Loop& loop = item->loop;
  const int comp = loop.find_tag("_atom_site.label_comp_id");
  const int atom = loop.find_tag("_atom_site.label_atom_id");
  if (comp < 0 || atom < 0 || loop.has_tag("_atom_site.auth_comp_id")) return;
  const size_t width = loop.width();
  const size_t rows = loop.length();
  std::vector<std::string> values;
  values.reserve(rows * (width + 2));
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < width; ++c) values.push_back(loop.val(r, c));
    values.push_back(loop.val(r, static_cast<size_t>(comp)));
    values.push_back(loop.val(r, static_cast<size_t>(atom)));
  }
  loop.tags.push_back("_atom_site.auth_comp_id");
  loop.tags.push_back("_atom_site.auth_atom_id");
  loop.values = std::move(values);
}

// The Chemical Component Dictionary's type and name of each amino acid, as AlphaFold's mmCIF files have them
// (gemmi 0.5 writes the type as "." and no name): glycine is achiral.
void set_chem_comp_types(gemmi::cif::Block& block) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 21> kNames = {{
      {"ALA", "ALANINE"},    {"ARG", "ARGININE"},      {"ASN", "ASPARAGINE"},    {"ASP", "ASPARTIC ACID"},
      {"CYS", "CYSTEINE"},   {"GLN", "GLUTAMINE"},     {"GLU", "GLUTAMIC ACID"}, {"GLY", "GLYCINE"},
      {"HIS", "HISTIDINE"},  {"ILE", "ISOLEUCINE"},    {"LEU", "LEUCINE"},       {"LYS", "LYSINE"},
      {"MET", "METHIONINE"}, {"PHE", "PHENYLALANINE"}, {"PRO", "PROLINE"},       {"SER", "SERINE"},
      {"THR", "THREONINE"},  {"TRP", "TRYPTOPHAN"},    {"TYR", "TYROSINE"},      {"VAL", "VALINE"},
      {"UNK", "UNKNOWN"},
  }};
  std::vector<std::string> ids;  // read whole first: the new loop replaces the old one
  for (auto row : block.find("_chem_comp.", {"id"})) ids.push_back(row[0]);
  if (ids.empty()) return;
  gemmi::cif::Loop& loop = block.init_mmcif_loop("_chem_comp.", {"id", "type", "name"});
  for (const auto& id : ids) {
    const auto* known = std::find_if(kNames.begin(), kNames.end(), [&](const auto& n) { return n.first == id; });
    const char* type = id == "GLY" ? "peptide linking" : "L-peptide linking";  // every residue kfold writes
    loop.add_row(
        {id, gemmi::cif::quote(type), known == kNames.end() ? "?" : gemmi::cif::quote(std::string(known->second))});
  }
}

// _entity_poly.pdbx_strand_id: the chains (author names) of each polymer entity, as AlphaFold writes it.
void add_strand_ids(gemmi::cif::Block& block, const gemmi::Structure& st) {
  std::vector<std::pair<std::string, std::string>> polys;  // entity id, type
  for (auto row : block.find("_entity_poly.", {"entity_id", "type"})) polys.emplace_back(row[0], row[1]);
  if (polys.empty()) return;
  gemmi::cif::Loop& loop = block.init_mmcif_loop("_entity_poly.", {"entity_id", "type", "pdbx_strand_id"});
  for (const auto& [id, type] : polys) {
    std::vector<std::string> chains;
    if (const gemmi::Entity* entity = st.get_entity(id))
      for (const gemmi::Chain& chain : st.models.at(0).chains)
        if (!chain.residues.empty() && gemmi::in_vector(chain.residues.front().subchain, entity->subchains) &&
            !gemmi::in_vector(chain.name, chains))
          chains.push_back(chain.name);
    loop.add_row({id, type, chains.empty() ? "?" : fmt::format("{}", fmt::join(chains, ","))});
  }
}

// ModelCIF's description of a prediction whose B-factors are pLDDTs, as AlphaFold's mmCIF files have it:
// the dictionary it conforms to, the model (_ma_model_list, which the metrics' model_id refers to), the
// software, and the quality metrics: the per-residue pLDDT (_ma_qa_metric_local, keyed by
// label_asym_id/label_seq_id as Mol* and the AlphaFold DB read it) and its mean over residues
// (_ma_qa_metric_global, the mean pLDDT that ranking_debug.json ranks by: over every residue of the
// protein, including those without atoms, which have no local row).
void add_modelcif_metadata(gemmi::cif::Block& block, const gemmi::Structure& st, const Protein& protein,
                           const StructureHeader& header) {
  using gemmi::cif::quote;
  block.set_pair("_audit_conform.dict_name", "mmcif_ma.dic");
  block.set_pair("_audit_conform.dict_version", "1.4.6");
  block.set_pair("_audit_conform.dict_location",
                 "https://raw.githubusercontent.com/ihmwg/ModelCIF/master/dist/mmcif_ma.dic");
  gemmi::cif::Loop& data = block.init_mmcif_loop("_ma_data.", {"id", "name", "content_type"});
  data.add_row({"1", "Model", quote("model coordinates")});
  // The modelled target: each chain (_struct_asym) an instance of its entity, each entity of data 1 (the
  // categories ModelCIF requires and AlphaFold's files have).
  std::vector<std::pair<std::string, std::string>> asyms;  // read whole first: a new loop may move the block's items
  for (auto row : block.find("_struct_asym.", {"id", "entity_id"})) asyms.emplace_back(row[0], row[1]);
  std::vector<std::string> entities;
  gemmi::cif::Loop& instances =
      block.init_mmcif_loop("_ma_target_entity_instance.", {"asym_id", "entity_id", "details"});
  for (const auto& [asym, entity] : asyms) {
    instances.add_row({asym, entity, "."});
    if (std::find(entities.begin(), entities.end(), entity) == entities.end()) entities.push_back(entity);
  }
  gemmi::cif::Loop& targets = block.init_mmcif_loop("_ma_target_entity.", {"entity_id", "data_id", "origin"});
  for (const auto& entity : entities) targets.add_row({entity, "1", "."});
  gemmi::cif::Loop& models = block.init_mmcif_loop(
      "_ma_model_list.",
      {"ordinal_id", "model_id", "model_group_id", "model_name", "model_group_name", "data_id", "model_type"});
  models.add_row({"1", "1", "1", quote(st.get_info("_struct.title")),
                  quote(header.software.empty() ? "kfold" : header.software), "1", quote("Ab initio model")});
  const std::string software = header.software.empty() ? "kfold" : header.software;
  const auto space = software.find(' ');
  gemmi::cif::Loop& sw =
      block.init_mmcif_loop("_software.", {"pdbx_ordinal", "name", "version", "type", "classification", "description"});
  sw.add_row({"1", quote(software.substr(0, space)),
              space == std::string::npos ? "?" : quote(software.substr(space + 1)), "package", "other",
              quote("Structure prediction")});
  gemmi::cif::Loop& group = block.init_mmcif_loop("_ma_software_group.", {"ordinal_id", "group_id", "software_id"});
  group.add_row({"1", "1", "1"});
  gemmi::cif::Loop& metric =
      block.init_mmcif_loop("_ma_qa_metric.", {"id", "name", "type", "mode", "software_group_id"});
  metric.add_row({"1", "pLDDT", "pLDDT", "global", "1"});
  metric.add_row({"2", "pLDDT", "pLDDT", "local", "1"});
  gemmi::cif::Loop& local = block.init_mmcif_loop(
      "_ma_qa_metric_local.",
      {"ordinal_id", "model_id", "label_asym_id", "label_comp_id", "label_seq_id", "metric_id", "metric_value"});
  size_t n = 0;
  for (const gemmi::Chain& chain : st.models.at(0).chains)
    for (const gemmi::Residue& res : chain.residues) {
      if (res.atoms.empty()) continue;
      const double plddt = res.atoms.front().b_iso;  // every atom of a residue carries its pLDDT
      local.add_row(
          {std::to_string(++n), "1", res.subchain, res.name, res.label_seq.str(), "2", fmt::format("{:.2f}", plddt)});
    }
  double sum = 0.0;  // every atom slot of a residue, present or not, carries its pLDDT
  for (int64_t i = 0; i < protein.n_res(); ++i) sum += protein.b_factors[static_cast<size_t>(i) * rc::atom_type_num];
  gemmi::cif::Loop& global =
      block.init_mmcif_loop("_ma_qa_metric_global.", {"ordinal_id", "model_id", "metric_id", "metric_value"});
  global.add_row(
      {"1", "1", "1", fmt::format("{:.2f}", protein.n_res() == 0 ? 0.0 : sum / static_cast<double>(protein.n_res()))});
}

}  // namespace

void complete_mmcif_block(gemmi::cif::Block& block, const gemmi::Structure& st, const Protein& protein,
                          const StructureHeader& header) {
  add_auth_columns(block);
  set_chem_comp_types(block);
  add_strand_ids(block, st);
  if (header.b_factors_are_plddt) add_modelcif_metadata(block, st, protein, header);
}

}  // namespace kfold::data
