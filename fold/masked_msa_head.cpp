// Masked MSA head (AlphaFold2 Suppl. 1.9.9).
#include "fold/masked_msa_head.hpp"

namespace kfold::fold {

MaskedMsaHead::MaskedMsaHead(const ParameterScope& scope, const MaskedMsaHeadConfig& config, int64_t c_m)
    : logits_(scope / "logits", c_m, config.num_output) {}

at::Tensor MaskedMsaHead::forward(const at::Tensor& msa) const {
  return logits_.forward(msa);  // [n_seq, n_res, num_output]
}

}  // namespace kfold::fold
