// Unique, ordered hypothesis records.
#include "pipelines/agent/hypothesis.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace kfold::pipelines::agent {

void HypothesisSet::add(const std::string& operator_name, const Variant& variant, std::vector<std::string> rationale) {
  const std::string key = format_variant(variant);
  const auto it = index_.find(key);
  if (it == index_.end()) {
    Hypothesis h;
    h.id = fmt::format("{}H{:04d}", id_prefix_, items_.size() + 1);
    h.operators = {operator_name};
    h.variant = variant;
    h.rationale = std::move(rationale);
    index_.emplace(key, items_.size());
    items_.push_back(std::move(h));
    return;
  }
  Hypothesis& h = items_[it->second];
  if (std::find(h.operators.begin(), h.operators.end(), operator_name) == h.operators.end()) {
    h.operators.push_back(operator_name);
  }
  for (auto& fact : rationale) {
    if (std::find(h.rationale.begin(), h.rationale.end(), fact) == h.rationale.end())
      h.rationale.push_back(std::move(fact));
  }
}

std::string operator_label(const Hypothesis& h) {
  std::string out;
  for (const auto& op : h.operators) out += (out.empty() ? "" : "+") + op;
  return out;
}

}  // namespace kfold::pipelines::agent
