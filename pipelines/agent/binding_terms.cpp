// Interface terms of complex predictions.
#include "pipelines/agent/binding_terms.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "data/error.hpp"
#include "pipelines/agent/wild_type_structure.hpp"

namespace kfold::pipelines::agent {

namespace {

size_t n_res_of(const StructurePrediction& p) { return p.plddt.size(); }

const std::vector<std::array<double, 3>>& points(const StructurePrediction& p) {
  return p.cb.size() == p.ca.size() ? p.cb : p.ca;
}

void check_complex(const StructurePrediction& p) {
  const auto n = static_cast<int64_t>(n_res_of(p));
  if (p.chain_break < 1 || p.chain_break >= n || static_cast<int64_t>(p.ca.size()) != n) {
    fail_runtime("interface terms: a prediction of {} residues with chain break {} is not a complex", n, p.chain_break);
  }
}

// Target-partner Cα pairs closer than kClashCaDistance: the clashes the target chain cut out of the complex
// cannot show.
int64_t interface_clashes(const StructurePrediction& p) {
  const auto n = n_res_of(p);
  const auto a = static_cast<size_t>(p.chain_break);
  int64_t count = 0;
  for (size_t i = 0; i < a; ++i)
    for (size_t j = a; j < n; ++j) count += ca_distance(p.ca[i], p.ca[j]) < kClashCaDistance;
  return count;
}

}  // namespace

std::string partner_chain_sequence(std::string_view partner, std::string_view wild_type, std::string_view target) {
  return std::string(partner_is_target_copy(partner, wild_type) ? target : partner);
}

StructurePrediction target_chain(const StructurePrediction& p) {
  if (p.chain_break <= 0) return p;
  const auto n = n_res_of(p);
  const auto a = static_cast<size_t>(p.chain_break);
  StructurePrediction t;
  t.plddt.assign(p.plddt.begin(), p.plddt.begin() + static_cast<std::ptrdiff_t>(a));
  if (p.ca.size() == n) t.ca.assign(p.ca.begin(), p.ca.begin() + static_cast<std::ptrdiff_t>(a));
  if (p.cb.size() == n) t.cb.assign(p.cb.begin(), p.cb.begin() + static_cast<std::ptrdiff_t>(a));
  if (p.pae.size() == n * n) {
    for (size_t i = 0; i < a; ++i) {
      t.pae.insert(t.pae.end(), p.pae.begin() + static_cast<std::ptrdiff_t>(i * n),
                   p.pae.begin() + static_cast<std::ptrdiff_t>(i * n + a));
    }
  }
  // The complex's pTM scores the interface too (the binding term's business): the target chain's own is
  // not known. The violation count covers both chains; the partner's sequence is the same in every
  // prediction, so a change of it is the variant's doing.
  t.ptm = std::numeric_limits<double>::quiet_NaN();
  t.violating_residues = p.violating_residues;
  t.pdb = p.pdb;
  return t;
}

InterfaceTerms interface_terms(const StructurePrediction& p) {
  check_complex(p);
  const auto n = n_res_of(p);
  const auto a = static_cast<size_t>(p.chain_break);
  InterfaceTerms t;
  if (p.pae.size() == n * n) {
    double sum = 0.0;
    for (size_t i = 0; i < a; ++i) {
      for (size_t j = a; j < n; ++j) sum += p.pae[i * n + j] + p.pae[j * n + i];
    }
    t.pae = sum / (2.0 * static_cast<double>(a) * static_cast<double>(n - a));
  }
  const auto& x = points(p);
  for (size_t i = 0; i < a; ++i) {
    for (size_t j = a; j < n; ++j) t.contacts += ca_distance(x[i], x[j]) <= kContactDistance;
  }
  return t;
}

void add_interface_terms(StructureTerms& terms, const StructurePrediction& wild_type,
                         const StructurePrediction& mutant) {
  check_complex(wild_type);
  check_complex(mutant);
  if (wild_type.chain_break != mutant.chain_break || n_res_of(wild_type) != n_res_of(mutant)) {
    fail_runtime("interface terms: complexes of different shapes");
  }
  terms.delta_interface_pae = interface_terms(mutant).pae - interface_terms(wild_type).pae;
  terms.delta_iptm = mutant.iptm - wild_type.iptm;
  const auto n = n_res_of(wild_type);
  const auto a = static_cast<size_t>(wild_type.chain_break);
  const auto& w = points(wild_type);
  const auto& m = points(mutant);
  terms.lost_interface_contacts = 0;
  for (size_t i = 0; i < a; ++i) {
    for (size_t j = a; j < n; ++j) {
      terms.lost_interface_contacts +=
          ca_distance(w[i], w[j]) <= kContactDistance && ca_distance(m[i], m[j]) > kContactDistance;
    }
  }
  // Clashes across the interface join the target chain's own (structure_terms, on the chain cut out).
  terms.new_clashes += std::max<int64_t>(0, interface_clashes(mutant) - interface_clashes(wild_type));
  terms.binding = true;
}

}  // namespace kfold::pipelines::agent
