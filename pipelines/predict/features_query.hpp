// The query as features.h5 records it (domain_name), the same from `kfold features` and `kfold predict`.
#pragma once

#include <string>

#include "data/sequence.hpp"

namespace kfold::pipelines {

// `query` with text AlphaFold's tools and h5py can read as UTF-8: an id that is not UTF-8 (a Latin-1 byte)
// becomes its target id (the folder name kfold predict gives it: target_id.hpp), with a warning naming
// `source`; such bytes of the description become '?', as in kfold search's A3Ms.
data::Sequence utf8_features_query(data::Sequence query, const std::string& source);

}  // namespace kfold::pipelines
