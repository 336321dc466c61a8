// Pairwise-identity filters and Neff over MSA rows in query coordinates.
#include "msa/msa_filter.hpp"

#include <algorithm>

namespace kfold::msa {

double row_identity(const std::string& a, const std::string& b) {
  int64_t same = 0;
  int64_t both = 0;
  const size_t n = std::min(a.size(), b.size());
  for (size_t k = 0; k < n; ++k) {
    const bool aligned = (a[k] != '-') & (b[k] != '-');
    both += aligned;
    same += aligned & (a[k] == b[k]);
  }
  return both == 0 ? 0.0 : static_cast<double>(same) / static_cast<double>(both);
}

std::vector<int64_t> filter_max_seq_id(const data::Msa& msa, double max_seq_id) {
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < msa.depth(); ++i) {
    bool keep = true;
    if (i > 0 && max_seq_id < 1.0) {
      for (const int64_t k : kept) {
        if (row_identity(msa.sequences[static_cast<size_t>(i)], msa.sequences[static_cast<size_t>(k)]) > max_seq_id) {
          keep = false;
          break;
        }
      }
    }
    if (keep) kept.push_back(i);
  }
  return kept;
}

data::Msa select_rows(const data::Msa& msa, const std::vector<int64_t>& rows) {
  data::Msa out;
  const bool has_insertions = msa.insertions.size() == msa.sequences.size();
  for (const int64_t r : rows) {
    const auto i = static_cast<size_t>(r);
    out.sequences.push_back(msa.sequences[i]);
    out.deletion_matrix.push_back(msa.deletion_matrix[i]);
    out.descriptions.push_back(msa.descriptions[i]);
    if (has_insertions) out.insertions.push_back(msa.insertions[i]);
  }
  return out;
}

double neff(const data::Msa& msa, double identity) {
  const int64_t depth = msa.depth();
  std::vector<int64_t> neighbours(static_cast<size_t>(depth), 1);  // each row counts itself
  for (int64_t i = 0; i < depth; ++i) {
    for (int64_t j = i + 1; j < depth; ++j) {
      if (row_identity(msa.sequences[static_cast<size_t>(i)], msa.sequences[static_cast<size_t>(j)]) >= identity) {
        ++neighbours[static_cast<size_t>(i)];
        ++neighbours[static_cast<size_t>(j)];
      }
    }
  }
  double sum = 0.0;
  for (const int64_t n : neighbours) sum += 1.0 / static_cast<double>(n);
  return sum;
}

}  // namespace kfold::msa
