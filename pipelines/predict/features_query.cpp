// utf8_features_query: the query's id and description as UTF-8 text for features.h5.
#include "pipelines/predict/features_query.hpp"

#include <utility>

#include "data/header_text.hpp"
#include "data/log.hpp"
#include "pipelines/predict/target_id.hpp"

namespace kfold::pipelines {

data::Sequence utf8_features_query(data::Sequence query, const std::string& source) {
  if (const std::string text = data::valid_utf8_text(query.id); text != query.id) {
    std::string id = target_id_from(query.id);
    log_warn("{}: the query id '{}' is not UTF-8 text; written as '{}' (as kfold predict names its folder)", source,
             text, id);
    query.id = std::move(id);
  }
  query.description = data::valid_utf8_text(query.description);
  return query;
}

}  // namespace kfold::pipelines
