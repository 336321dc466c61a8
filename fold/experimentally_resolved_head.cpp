// Experimentally resolved head (AlphaFold2 Suppl. 1.9.10).
#include "fold/experimentally_resolved_head.hpp"

#include "data/residue_constants.hpp"

namespace kfold::fold {

ExperimentallyResolvedHead::ExperimentallyResolvedHead(const ParameterScope& scope,
                                                       const ExperimentallyResolvedHeadConfig& /*config*/, int64_t c_s)
    : logits_(scope / "logits", c_s, data::rc::atom_type_num) {}

at::Tensor ExperimentallyResolvedHead::forward(const at::Tensor& single) const {
  return logits_.forward(single);  // [n_res, 37]
}

}  // namespace kfold::fold
