// The structural checks of a structure or a prediction (pipelines/predict/structure_checks.hpp).
#include "pipelines/predict/structure_checks.hpp"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <tuple>
#include <utility>

#include "data/residue_constants.hpp"

namespace kfold::pipelines {

namespace {

constexpr double kBondedBelow = 2.0;  // Å: a C(i)-N(j) this close is a peptide bond, whatever the numbering
constexpr double kBreakAbove = 4.0;   // Å: residues of successive numbers this far apart are a chain break

// |C(i) - N(j)| in Å, when both atoms are there.
std::optional<double> c_to_n(const data::Protein& p, size_t i, size_t j) {
  namespace rc = data::rc;
  static const auto kC = static_cast<size_t>(rc::atom_order("C")), kN = static_cast<size_t>(rc::atom_order("N"));
  const size_t c = i * rc::atom_type_num + kC, n = j * rc::atom_type_num + kN;
  if (p.atom_mask[c] < 0.5f || p.atom_mask[n] < 0.5f) return std::nullopt;
  double sum = 0.0;
  for (size_t k = 0; k < 3; ++k) sum += std::pow(p.atom_positions[3 * c + k] - p.atom_positions[3 * n + k], 2);
  return std::sqrt(sum);
}

}  // namespace

std::vector<std::string> peptide_bonds_across_chains(const data::Protein& p) {
  std::vector<std::string> out;
  if (p.atom_mask.size() != static_cast<size_t>(p.n_res()) * data::rc::atom_type_num) return out;
  const auto name = [&](size_t i) {
    const auto c = p.chain_index[i];
    return p.chain_names.empty() ? std::to_string(c) : p.chain_names[static_cast<size_t>(c)];
  };
  for (size_t i = 0; i + 1 < static_cast<size_t>(p.n_res()); ++i) {
    if (p.chain_index[i] == p.chain_index[i + 1]) continue;
    if (const auto d = c_to_n(p, i, i + 1); d && *d < kBondedBelow)
      out.push_back(fmt::format("{}{}-{}{} (C-N {:.2f} A)", name(i), p.residue_index[i], name(i + 1),
                                p.residue_index[i + 1], *d));
  }
  return out;
}

std::vector<int64_t> violation_check_residue_index(const data::Protein& protein, ChainBonds bonds,
                                                   std::vector<std::string>* breaks) {
  const auto& number = protein.residue_index;
  const size_t n = number.size();
  const auto code = [&](size_t i) { return protein.insertion_code.empty() ? ' ' : protein.insertion_code[i]; };
  const auto label = [&](size_t i) {
    return fmt::format("{}{}", number[i], code(i) == ' ' ? "" : std::string(1, code(i)));
  };
  const bool geometry =
      bonds == ChainBonds::by_numbering_and_geometry && protein.atom_mask.size() == n * data::rc::atom_type_num;
  // A C terminus (an OXT atom, or the file ends a molecule there: TER, another label_asym_id) bonds to nothing
  // after it, however close and whatever its numbering: Amber's and OpenMM's complexes number on across chains.
  static const auto kOxt = static_cast<size_t>(data::rc::atom_order("OXT"));
  const auto c_terminus = [&](size_t i) {
    return (!protein.ends_molecule.empty() && protein.ends_molecule[i] != 0) ||
           (protein.atom_mask.size() == n * data::rc::atom_type_num &&
            protein.atom_mask[i * data::rc::atom_type_num + kOxt] > 0.5f);
  };
  // Chains by name, in file order: the parts of a chain that another chain splits (A, B, A) are one chain.
  const auto chain_of = [&](size_t i) {
    const auto c = protein.chain_index[i];
    return protein.chain_names.empty() ? std::to_string(c) : protein.chain_names[static_cast<size_t>(c)];
  };
  std::vector<std::pair<std::string, std::vector<size_t>>> chains;  // in order of first appearance
  std::map<std::string, size_t> chain_number;
  for (size_t i = 0; i < n; ++i) {
    const auto [it, added] = chain_number.try_emplace(chain_of(i), chains.size());
    if (added) chains.push_back({it->first, {}});
    chains[it->second].second.push_back(i);
  }
  std::vector<int64_t> next(n, -1), prev(n, -1);
  const auto link = [&](size_t a, size_t b) {
    next[a] = static_cast<int64_t>(b);
    prev[b] = static_cast<int64_t>(a);
  };
  for (const auto& [name, residues] : chains) {
    for (size_t k = 1; k < residues.size(); ++k) {
      const size_t a = residues[k - 1], b = residues[k];
      if (c_terminus(a)) continue;
      const bool successive = number[b] == number[a] + 1 || (number[b] == number[a] && code(b) != code(a));
      bool bonded = successive;
      if (const auto d = geometry ? c_to_n(protein, a, b) : std::nullopt) {
        if (*d < kBondedBelow) bonded = true;  // numbering that skips (217, 219) or runs back (IMGT's 112B, 112A)
        if (successive && *d > kBreakAbove) {  // residues left out and the rest renumbered
          bonded = false;
          if (breaks != nullptr)
            breaks->push_back(fmt::format("chain {}: {} to {} (C-N {:.1f} A)", name, label(a), label(b), *d));
        }
      }
      if (bonded) link(a, b);
    }
    // Residues written out of order (50-99, then 1-49): a fragment's end bonded to another fragment's start.
    for (const size_t a : residues) {
      if (!geometry || next[a] >= 0 || c_terminus(a)) continue;
      auto head = static_cast<int64_t>(a);
      while (prev[static_cast<size_t>(head)] >= 0) head = prev[static_cast<size_t>(head)];
      std::optional<size_t> best;
      double closest = kBondedBelow;
      for (const size_t b : residues)
        if (prev[b] < 0 && static_cast<int64_t>(b) != head)
          if (const auto d = c_to_n(protein, a, b); d && *d < closest) std::tie(best, closest) = std::pair(b, *d);
      if (best) link(a, *best);
    }
  }
  // Bonded residues get successive indices; fragments and chains are 100 apart.
  std::vector<int64_t> index(n);
  std::optional<int64_t> last;
  for (const auto& [name, residues] : chains)
    for (const size_t head : residues) {
      if (prev[head] >= 0) continue;
      int64_t value = last ? *last + 100 : number[head];
      for (auto r = static_cast<int64_t>(head); r >= 0; r = next[static_cast<size_t>(r)])
        index[static_cast<size_t>(r)] = value++;
      last = value - 1;
    }
  return index;
}

ProteinTensors protein_tensors(const data::Protein& protein, ChainBonds bonds, std::vector<std::string>* breaks) {
  protein.check_shapes();
  const int64_t n = protein.n_res();
  return {at::tensor(at::ArrayRef<int64_t>(protein.aatype)),
          at::tensor(at::ArrayRef<int64_t>(violation_check_residue_index(protein, bonds, breaks))),
          at::tensor(at::ArrayRef<float>(protein.atom_positions)).reshape({n, 37, 3}),
          at::tensor(at::ArrayRef<float>(protein.atom_mask)).reshape({n, 37})};
}

std::string breaks_text(const std::vector<std::string>& breaks, size_t shown) {
  if (breaks.size() <= shown) return fmt::format("{}", fmt::join(breaks, ", "));
  return fmt::format("{}, ... ({} in all)",
                     fmt::join(breaks.begin(), breaks.begin() + static_cast<std::ptrdiff_t>(shown), ", "),
                     breaks.size());
}

fold::ViolationMetrics structure_violations_of(const data::Protein& protein, ChainBonds bonds,
                                               std::vector<std::string>* breaks) {
  const auto t = protein_tensors(protein, bonds, breaks);
  return fold::check_structure(t.aatype, t.residue_index, t.positions, t.mask);
}

}  // namespace kfold::pipelines
