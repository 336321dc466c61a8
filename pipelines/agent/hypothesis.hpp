// A hypothesis: one proposed experiment (a variant of the wild type) with who proposed it and why.
// HypothesisSet keeps them unique by variant: a variant proposed by several operators is one hypothesis
// listing every operator and every rationale fact. Ids (H0001, ...) follow the order of first proposal,
// after the set's prefix: the agent gives a round's set "R<round>-" (R2-H0024), so that an id names one
// variant across all the rounds of a campaign (its notebook, plates and structure files).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "pipelines/agent/variant.hpp"

namespace kfold::pipelines::agent {

struct Hypothesis {
  std::string id;
  std::string parent = "WT";
  std::vector<std::string> operators;  // e.g. {"single_substitution", "consensus"}
  Variant variant;
  std::vector<std::string> rationale;  // facts, one short phrase each
};

class HypothesisSet {
 public:
  explicit HypothesisSet(std::string id_prefix = "") : id_prefix_(std::move(id_prefix)) {}
  const std::string& id_prefix() const { return id_prefix_; }
  // Adds or merges (same variant: operators and rationale appended when new).
  void add(const std::string& operator_name, const Variant& variant, std::vector<std::string> rationale);
  const std::vector<Hypothesis>& items() const { return items_; }

 private:
  std::string id_prefix_;
  std::vector<Hypothesis> items_;
  std::map<std::string, size_t> index_;  // format_variant -> position in items_
};

// Operators joined by '+'.
std::string operator_label(const Hypothesis& h);

}  // namespace kfold::pipelines::agent
