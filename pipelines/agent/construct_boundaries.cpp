// Construct boundaries from pLDDT (disordered termini) and PAE (domains).
#include "pipelines/agent/construct_boundaries.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "data/error.hpp"
#include "pipelines/agent/wild_type_structure.hpp"

namespace kfold::pipelines::agent {

namespace {

using Range = std::pair<int64_t, int64_t>;  // 0-based indices, inclusive

double mean_plddt(const std::vector<double>& plddt, int64_t begin, int64_t end) {  // [begin, end]
  double sum = 0.0;
  for (int64_t i = begin; i <= end; ++i) sum += plddt[static_cast<size_t>(i)];
  return sum / static_cast<double>(end - begin + 1);
}

// Block sums of the PAE matrix in O(1) from a summed-area table (the splits try every boundary).
class PaeBlocks {
 public:
  PaeBlocks(const std::vector<double>& pae, int64_t n)
      : n_(n), sum_(static_cast<size_t>((n + 1) * (n + 1)), 0.0), diagonal_(static_cast<size_t>(n + 1), 0.0) {
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        at(i + 1, j + 1) = pae[static_cast<size_t>(i * n + j)] + at(i, j + 1) + at(i + 1, j) - at(i, j);
      }
      diagonal_[static_cast<size_t>(i + 1)] = diagonal_[static_cast<size_t>(i)] + pae[static_cast<size_t>(i * n + i)];
    }
  }
  // Mean PAE over the pairs (i in a, j in b), both directions, i != j.
  double mean(Range a, Range b) const {
    double total = block(a, b);
    double count = static_cast<double>(a.second - a.first + 1) * static_cast<double>(b.second - b.first + 1);
    if (a == b) {
      total -= diagonal_[static_cast<size_t>(a.second + 1)] - diagonal_[static_cast<size_t>(a.first)];
      count -= static_cast<double>(a.second - a.first + 1);
    } else {
      total += block(b, a);
      count *= 2.0;
    }
    return count > 0.0 ? total / count : 0.0;
  }

 private:
  double& at(int64_t i, int64_t j) { return sum_[static_cast<size_t>(i * (n_ + 1) + j)]; }
  double at(int64_t i, int64_t j) const { return sum_[static_cast<size_t>(i * (n_ + 1) + j)]; }
  double block(Range rows, Range cols) const {
    return at(rows.second + 1, cols.second + 1) - at(rows.first, cols.second + 1) - at(rows.second + 1, cols.first) +
           at(rows.first, cols.first);
  }
  int64_t n_;
  std::vector<double> sum_;       // [n + 1, n + 1]
  std::vector<double> diagonal_;  // [n + 1]
};

struct Split {
  int64_t at = -1;  // the second part starts here
  double between = 0.0, within_a = 0.0, within_b = 0.0;
};

// The best accepted split of `r` (at < 0: none). `helix`: per residue, in a predicted α-helix (empty: no
// structure); a cut between two helix residues is never taken (it would leave half a helix on each side:
// the PAE boundary of a domain-linking helix is then moved to one of its ends, where the contrast holds).
Split best_split(const PaeBlocks& pae, Range r, const ConstructOptions& o, const std::vector<bool>& helix) {
  Split best;
  double best_contrast = -1e300;
  for (int64_t k = r.first + o.min_domain; k + o.min_domain <= r.second + 1; ++k) {
    if (!helix.empty() && helix[static_cast<size_t>(k - 1)] && helix[static_cast<size_t>(k)]) continue;
    const Range a{r.first, k - 1}, b{k, r.second};
    const Split s{k, pae.mean(a, b), pae.mean(a, a), pae.mean(b, b)};
    const double contrast = s.between - 0.5 * (s.within_a + s.within_b);
    // A part may still hold several domains (it is split again), so it only has to be clearly tighter
    // than the pair; the final domains must meet domain_pae.
    const double margin = o.split_pae - o.domain_pae;
    if (s.between >= o.split_pae && s.within_a <= s.between - margin && s.within_b <= s.between - margin &&
        contrast > best_contrast) {
      best_contrast = contrast;
      best = s;
    }
  }
  return best;
}

}  // namespace

std::string format_construct(const Construct& c) { return fmt::format("construct {}-{}", c.first, c.last); }

std::string construct_rationale(const Construct& c) {
  std::string facts;
  for (const auto& f : c.rationale) facts += (facts.empty() ? "" : "; ") + f;
  return facts;
}

std::string construct_sequence(const Construct& c, const Campaign& campaign) {
  const int64_t begin = c.first - campaign.target.first_residue;
  return campaign.target.sequence.substr(static_cast<size_t>(begin), static_cast<size_t>(c.length()));
}

std::vector<Construct> propose_constructs(const Campaign& campaign, const StructurePrediction& wild_type,
                                          const ConstructOptions& o) {
  const auto n = static_cast<int64_t>(campaign.target.sequence.size());
  const std::vector<double>& plddt = wild_type.plddt;
  if (static_cast<int64_t>(plddt.size()) != n ||
      (!wild_type.pae.empty() && static_cast<int64_t>(wild_type.pae.size()) != n * n)) {
    fail_runtime("propose_constructs: a prediction of {} residues (PAE {}) for a target of {}", plddt.size(),
                 wild_type.pae.size(), n);
  }
  const int64_t first = campaign.target.first_residue;
  const auto ordered = [&](int64_t i) { return plddt[static_cast<size_t>(i)] >= o.disordered_plddt; };
  // The ordered core: from the first run of `ordered_run` ordered residues to the last one.
  int64_t begin = -1, end = -1;
  for (int64_t i = 0, run = 0; i < n; ++i) {
    run = ordered(i) ? run + 1 : 0;
    if (run == o.ordered_run) {
      begin = i - o.ordered_run + 1;
      break;
    }
  }
  for (int64_t i = n - 1, run = 0; i >= 0; --i) {
    run = ordered(i) ? run + 1 : 0;
    if (run == o.ordered_run) {
      end = i + o.ordered_run - 1;
      break;
    }
  }
  std::vector<Construct> out;
  if (begin < 0 || end < begin) return out;  // nothing ordered: no boundary to trust
  const Range core{begin, end};              // where the domains are looked for
  // Frozen residues are kept: the construct ends move out to them. Not for a frozen initiator Met (the
  // construct gets its own start: plate.csv flags one without it), which would forbid every N-terminal trim.
  for (const int64_t residue : campaign.frozen) {
    const int64_t i = residue - first;
    if (i >= 0 && i < n && !(i == 0 && first == 1 && campaign.target.sequence[0] == 'M')) {
      begin = std::min(begin, i);
      end = std::max(end, i);
    }
  }
  std::vector<Construct> trims;
  const auto add = [&](std::vector<Construct>& list, const char* op, int64_t b, int64_t e,
                       std::vector<std::string> facts) {
    Construct c;
    c.operator_name = op;
    c.first = first + b;
    c.last = first + e;
    c.rationale = std::move(facts);
    c.wild_type_plddt = mean_plddt(plddt, b, e);
    c.rationale.push_back(fmt::format("mean pLDDT {:.0f} in the full-length prediction", c.wild_type_plddt));
    list.push_back(std::move(c));
  };
  const int64_t n_trim = begin, c_trim = n - 1 - end;
  const auto n_fact = [&] {
    return fmt::format("N-terminal residues {}-{} disordered (mean pLDDT {:.0f})", first, first + begin - 1,
                       mean_plddt(plddt, 0, begin - 1));
  };
  const auto c_fact = [&] {
    return fmt::format("C-terminal residues {}-{} disordered (mean pLDDT {:.0f})", first + end + 1, first + n - 1,
                       mean_plddt(plddt, end + 1, n - 1));
  };
  const bool trim_n = n_trim >= o.min_trim, trim_c = c_trim >= o.min_trim;
  if (trim_n && trim_c) {
    add(trims, "trim_termini", begin, end, {n_fact(), c_fact()});
    add(trims, "trim_termini", begin, n - 1, {n_fact()});
    add(trims, "trim_termini", 0, end, {c_fact()});
  } else if (trim_n) {
    add(trims, "trim_termini", begin, n - 1, {n_fact()});
  } else if (trim_c) {
    add(trims, "trim_termini", 0, end, {c_fact()});
  }

  if (!wild_type.pae.empty()) {
    // Split the ordered core recursively; each accepted split is remembered for the rationale.
    const PaeBlocks blocks(wild_type.pae, n);
    const std::vector<bool> helix =
        static_cast<int64_t>(wild_type.ca.size()) == n ? helix_from_ca(wild_type.ca, plddt) : std::vector<bool>{};
    std::vector<Range> domains{core};
    std::vector<std::string> evidence(1);
    for (bool changed = true; changed && static_cast<int64_t>(domains.size()) < o.max_domains;) {
      changed = false;
      for (size_t d = 0; d < domains.size() && static_cast<int64_t>(domains.size()) < o.max_domains; ++d) {
        const Split s = best_split(blocks, domains[d], o, helix);
        if (s.at < 0) continue;
        const Range a{domains[d].first, s.at - 1}, b{s.at, domains[d].second};
        const std::string fact =
            fmt::format("PAE between {}-{} and {}-{}: mean {:.1f} Å; within them {:.1f} and {:.1f} Å", first + a.first,
                        first + a.second, first + b.first, first + b.second, s.between, s.within_a, s.within_b);
        domains[d] = a;
        domains.insert(domains.begin() + static_cast<std::ptrdiff_t>(d) + 1, b);
        evidence[d] = fact;
        evidence.insert(evidence.begin() + static_cast<std::ptrdiff_t>(d) + 1, fact);
        changed = true;
      }
    }
    const bool tight =
        std::all_of(domains.begin(), domains.end(), [&](const Range& d) { return blocks.mean(d, d) <= o.domain_pae; });
    if (domains.size() > 1 && tight) {
      for (size_t d = 0; d < domains.size(); ++d) {
        auto [b, e] = domains[d];
        while (b < e && !ordered(b)) ++b;  // disordered linker ends
        while (e > b && !ordered(e)) --e;
        if (d == 0) b = begin;  // out to a frozen residue before the core
        if (d + 1 == domains.size()) e = end;
        add(out, "domain_split", b, e, {fmt::format("domain {} of {}", d + 1, domains.size()), evidence[d]});
      }
    }
  }
  // The domains first: the plate takes the first plate.constructs proposals, and a split is only useful
  // with all its domains.
  out.insert(out.end(), trims.begin(), trims.end());
  for (size_t k = 0; k < out.size(); ++k) out[k].id = fmt::format("C{:02d}", k + 1);
  return out;
}

}  // namespace kfold::pipelines::agent
