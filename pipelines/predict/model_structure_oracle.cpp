// ModelStructureOracle (pipelines/predict/model_structure_oracle.hpp).
#include "pipelines/predict/model_structure_oracle.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "data/error.hpp"
#include "data/log.hpp"
#include "data/msa_file.hpp"
#include "data/sha256.hpp"
#include "data/structure_io.hpp"
#include "fold/complex_features.hpp"
#include "fold/raw_features.hpp"
#include "fold/structural_violations.hpp"
#include "pipelines/agent/binding_terms.hpp"
#include "pipelines/agent/wild_type_structure.hpp"
#include "pipelines/predict/predict_target.hpp"
#include "pipelines/predict/prediction_protein.hpp"

namespace kfold::pipelines {

std::optional<data::Msa> wild_type_msa(const std::filesystem::path& a3m, const std::string& target_sequence) {
  data::Msa msa = data::read_msa_file(a3m);
  if (msa.sequences.front() != target_sequence) {
    log_warn("{}: its first row is not the target sequence; structures are predicted single-sequence", a3m.string());
    return std::nullopt;
  }
  return msa;
}

std::unique_ptr<ModelStructureOracle> campaign_structure_oracle(const LoadedModel& model,
                                                                const agent::Campaign& campaign, int64_t seed) {
  std::optional<data::Msa> msa;
  if (!campaign.target.msa.empty()) msa = wild_type_msa(campaign.target.msa, campaign.target.sequence);
  std::optional<fold::ChainInput> partner;
  if (const auto& given = campaign.target.partner) {
    partner = fold::ChainInput{data::Sequence{given->id, "", given->sequence}, std::nullopt};
    if (agent::partner_is_target_copy(given->sequence, campaign.target.sequence)) {
      log_info(
          "structure oracle: partner {} is a copy of the target (homo-oligomer): each variant and construct "
          "is applied to both chains",
          given->id);
      if (!given->msa.empty())
        log_warn("{} (target.partner.msa): not used: a copy of the target takes the target's MSA", given->msa.string());
    } else if (!given->msa.empty()) {
      partner->msa = data::read_msa_file(given->msa);  // its first row checked with the campaign (campaign.cpp)
      if (partner->msa->sequences.front() != given->sequence)
        fail_input("{} (target.partner.msa): its first row is not the partner's sequence", given->msa.string());
    }
  }
  return std::make_unique<ModelStructureOracle>(model, std::move(msa), seed, std::move(partner),
                                                campaign.target.first_residue, campaign.target.sequence);
}

void ModelStructureOracle::family_alignment_found(const std::filesystem::path& a3m,
                                                  const std::string& target_sequence) {
  msa_ = wild_type_msa(a3m, target_sequence);
}

ModelStructureOracle::ModelStructureOracle(const LoadedModel& model, std::optional<data::Msa> msa, int64_t seed,
                                           std::optional<fold::ChainInput> partner, int64_t first_residue,
                                           std::string wild_type)
    : model_(model),
      msa_(std::move(msa)),
      seed_(seed),
      partner_(std::move(partner)),
      first_residue_(first_residue),
      wild_type_(std::move(wild_type)) {}

agent::StructurePrediction ModelStructureOracle::predict(const std::string& sequence) {
  std::vector<data::Msa> msas;
  if (msa_) {
    if (static_cast<int64_t>(sequence.size()) != msa_->length())
      fail_internal("structure oracle: a sequence of {} residues for an MSA of {} columns (substitutions only)",
                    sequence.size(), msa_->length());
    data::Msa msa = *msa_;
    msa.sequences.front() = sequence;  // the variant as the query row; its deletions stay 0
    if (!msa.insertions.empty()) msa.insertions.front().clear();
    msas.push_back(std::move(msa));
  }
  return predict_with(sequence, std::move(msas), partner_.has_value(), first_residue_);
}

agent::StructurePrediction ModelStructureOracle::predict_fragment(const std::string& sequence, int64_t offset) {
  std::vector<data::Msa> msas;
  if (msa_) {
    const auto length = static_cast<int64_t>(sequence.size());
    if (offset < 0 || offset + length > msa_->length())
      fail_internal("structure oracle: a fragment of {} residues at {} for an MSA of {} columns", length, offset,
                    msa_->length());
    data::Msa fragment;
    for (int64_t row = 0; row < msa_->depth(); ++row) {
      const auto r = static_cast<size_t>(row);
      std::string aligned = msa_->sequences[r].substr(static_cast<size_t>(offset), static_cast<size_t>(length));
      if (row > 0 && aligned.find_first_not_of('-') == std::string::npos) continue;  // nothing in the fragment
      fragment.sequences.push_back(std::move(aligned));
      const auto& deletions = msa_->deletion_matrix[r];
      fragment.deletion_matrix.emplace_back(deletions.begin() + offset, deletions.begin() + offset + length);
      fragment.descriptions.push_back(msa_->descriptions[r]);
    }
    fragment.sequences.front() = sequence;
    msas.push_back(std::move(fragment));
  }
  // With the partner, as the full length; numbered as in the full length.
  return predict_with(sequence, std::move(msas), partner_.has_value(), first_residue_ + offset);
}

std::string ModelStructureOracle::description() const {
  if (model_.random_weights()) return fmt::format("{} with random weights (--random-weights: a demo)", model_.name());
  return fmt::format("{}, parameters {} (SHA-256 {})", model_.name(),
                     std::filesystem::absolute(model_.params_file()).lexically_normal().string(),
                     data::sha256_file(model_.params_file()));
}

agent::StructurePrediction ModelStructureOracle::predict_with(const std::string& sequence, std::vector<data::Msa> msas,
                                                              bool complex, int64_t first_number) {
  const data::Sequence query{"variant", "", sequence};
  fold::RawFeatures raw;
  const bool copy = complex && agent::partner_is_target_copy(partner_->sequence.residues, wild_type_);
  if (complex) {
    std::vector<fold::ChainInput> chains(2);
    chains[0].sequence = query;
    // A copy of the target (homo-oligomer) carries the same variant or fragment, and its MSA block: each chain
    // its own unpaired MSA, as ColabFold gives every copy of a chain. Another partner: its own MSA, if any.
    chains[1] = copy ? fold::ChainInput{partner_->sequence, std::nullopt} : *partner_;
    chains[1].sequence.residues = agent::partner_chain_sequence(partner_->sequence.residues, wild_type_, sequence);
    if (!msas.empty()) {
      if (copy) chains[1].msa = msas.front();
      chains[0].msa = std::move(msas.front());
    }
    raw = fold::make_complex_raw_features(chains);
  } else {
    raw = fold::make_raw_features(query, msas, {"family"});
  }
  const auto prediction = model_.predict(raw, seed_, true, [this](int64_t, int64_t, const fold::ModelOutputs&) {
    if (check_cancelled_) check_cancelled_();
  });
  ++predictions_;
  const auto& out = prediction.outputs;

  agent::StructurePrediction result;
  // Outputs live on the run's device: read them on the host.
  const auto plddt = out.plddt.to(at::kCPU, at::kDouble).contiguous();  // [n_res]
  result.plddt.assign(plddt.data_ptr<double>(), plddt.data_ptr<double>() + plddt.numel());
  if (out.aligned_error) {
    const auto pae = out.predicted_aligned_error.to(at::kCPU, at::kDouble).contiguous();  // [n_res, n_res]
    result.pae.assign(pae.data_ptr<double>(), pae.data_ptr<double>() + pae.numel());
    result.ptm = out.ptm;
    result.iptm = prediction.iptm.value_or(std::numeric_limits<double>::quiet_NaN());
  } else {
    result.ptm = std::numeric_limits<double>::quiet_NaN();
  }
  data::Protein protein = prediction_protein(prediction);
  const auto n_target = static_cast<int64_t>(sequence.size());
  for (int64_t i = 0; i < n_target; ++i) protein.residue_index[static_cast<size_t>(i)] = first_number + i;
  if (complex) {  // chain B numbered from 1; a copy of the target as chain A is
    result.chain_break = n_target;
    for (int64_t i = result.chain_break; i < protein.n_res(); ++i) {
      protein.chain_index[static_cast<size_t>(i)] = 1;
      protein.residue_index[static_cast<size_t>(i)] = i - result.chain_break + (copy ? first_number : 1);
    }
  }
  result.violating_residues =
      static_cast<int64_t>(fold::check_structure(prediction.aatype, prediction.residue_index,
                                                 out.structure.final_atom_positions, out.structure.final_atom_mask)
                               .residue_violations.size());
  result.ca = agent::alpha_carbons(protein);
  result.cb = agent::beta_carbons(protein);
  std::vector<std::string> remarks;
  if (model_.random_weights()) remarks.emplace_back(kRandomWeightsWarning);
  result.pdb = data::to_pdb(protein, prediction_header(model_.name(), remarks));
  log_info("structure oracle: prediction {} ({} residues{}, {} MSA rows), mean pLDDT {:.1f}", predictions_, n_target,
           complex ? " and the partner" : "", raw.n_seq, out.mean_plddt);
  return result;
}

}  // namespace kfold::pipelines
