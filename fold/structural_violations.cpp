// AlphaFold2's structural violation checks (fold/structural_violations.hpp): all_atom.py's
// between_residue_bond_loss, between_residue_clash_loss, within_residue_violations and
// extreme_ca_ca_distance_violations, folding.py's find_structural_violations and compute_violation_metrics.
#include "fold/structural_violations.hpp"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <utility>

#include "data/error.hpp"
#include "data/residue_constants.hpp"
#include "data/stereo_chemistry.hpp"
#include "fold/all_atom.hpp"

namespace kfold::fold {

namespace rc = data::rc;
using at::indexing::None;
using at::indexing::Slice;

namespace {

constexpr int64_t kN = 0, kCa = 1, kC = 2;  // atom14 slots of the backbone
constexpr int64_t kCysSg = 5;               // atom14 slot of CYS SG (and of other residues' atoms)

at::Tensor norm(const at::Tensor& v, double eps) { return (eps + v.square().sum(-1)).sqrt(); }  // [..., 3] -> [...]

// The loss of an excess beyond a bound (ViolationOptions::squared_losses).
at::Tensor excess_loss(const at::Tensor& excess, bool squared) {
  return squared ? at::relu(excess).square() : at::relu(excess);
}

// Flat-bottom violation of a value against its literature mean: the error sqrt(eps + (v - mean)^2), its loss
// of the excess error - tolerance, and its hard violation error > tolerance.
struct FlatBottom {
  at::Tensor loss, violation;
};
FlatBottom flat_bottom(const at::Tensor& value, const at::Tensor& mean, const at::Tensor& tolerance, bool squared) {
  const auto error = (1e-6 + (value - mean).square()).sqrt();
  return {excess_loss(error - tolerance, squared), (error > tolerance).to(value.scalar_type())};
}

// rc::make_atom14_dists_bounds as [21, 14, 14] CPU tensors {lower, upper}, built once per pair of tolerances.
std::pair<at::Tensor, at::Tensor> atom14_dists_bounds(double overlap_tolerance, double tolerance_factor) {
  static std::mutex mutex;
  static std::map<std::pair<double, double>, std::pair<at::Tensor, at::Tensor>> cache;
  const std::lock_guard lock(mutex);
  auto& entry = cache[{overlap_tolerance, tolerance_factor}];
  if (!entry.first.defined()) {
    const auto bounds = rc::make_atom14_dists_bounds(overlap_tolerance, tolerance_factor);
    const auto table = [](const auto& t) {
      return at::tensor(at::ArrayRef<float>(&t[0][0][0], rc::restype_num_with_x * rc::atom14_num * rc::atom14_num))
          .reshape({rc::restype_num_with_x, rc::atom14_num, rc::atom14_num});
    };
    entry = {table(bounds.lower_bound), table(bounds.upper_bound)};
  }
  return entry;
}

// Per residue type, the van der Waals radius of each atom14 slot (0 for unused slots): [21, 14].
at::Tensor atom14_radius_table() {
  std::array<float, rc::restype_num_with_x * rc::atom14_num> radius{};
  for (int64_t t = 0; t < rc::restype_num_with_x; ++t)
    for (int64_t a = 0; a < rc::atom14_num; ++a) {
      const auto name = rc::restype_name_to_atom14_names[static_cast<size_t>(t)][static_cast<size_t>(a)];
      if (!name.empty())
        radius[static_cast<size_t>(t * rc::atom14_num + a)] = static_cast<float>(rc::van_der_waals_radius(name[0]));
    }
  return at::tensor(at::ArrayRef<float>(radius.data(), radius.size()))
      .reshape({rc::restype_num_with_x, rc::atom14_num});
}

// all_atom.between_residue_bond_loss: the peptide bond C(i)-N(i+1) and the angles CA-C-N and C-N-CA; sets the
// connection fields of `v`.
void between_residue_bonds(const at::Tensor& aatype, const at::Tensor& gap_free,  // [L], [L - 1]
                           const at::Tensor& x, const at::Tensor& e,              // [L, 14, 3], [L, 14]
                           double tolerance_factor, bool squared, StructuralViolations& v) {
  const int64_t n_res = x.size(0);
  const auto head = Slice(None, n_res - 1), tail = Slice(1, None);
  const auto this_ca = x.index({head, kCa}), this_c = x.index({head, kC});            // [L - 1, 3]
  const auto next_n = x.index({tail, kN}), next_ca = x.index({tail, kCa});            // [L - 1, 3]
  const auto this_ca_mask = e.index({head, kCa}), this_c_mask = e.index({head, kC});  // [L - 1]
  const auto next_n_mask = e.index({tail, kN}), next_ca_mask = e.index({tail, kCa});  // [L - 1]
  const auto masked_mean = [](const at::Tensor& mask, const at::Tensor& value) {
    return (mask * value).sum() / (mask.sum() + 1e-6);
  };

  // C-N bond length; a proline as the next residue has its own literature length.
  const auto c_n_length = norm(this_c - next_n, 1e-6);  // [L - 1]
  const auto next_is_proline = (aatype.index({tail}) == rc::resname_to_idx("PRO")).to(x.scalar_type());
  const auto& length = rc::between_res_bond_length_c_n;
  const auto& length_sd = rc::between_res_bond_length_stddev_c_n;
  const auto c_n =
      flat_bottom(c_n_length, (1 - next_is_proline) * length[0] + next_is_proline * length[1],
                  tolerance_factor * ((1 - next_is_proline) * length_sd[0] + next_is_proline * length_sd[1]), squared);
  const auto c_n_mask = this_c_mask * next_n_mask * gap_free;

  // Angles through their cosines. AlphaFold's CA-C-N tolerance uses the C-N bond's stddev (kept, see header).
  const auto c_ca_unit = (this_ca - this_c) / norm(this_ca - this_c, 1e-6).unsqueeze(-1);
  const auto c_n_unit = (next_n - this_c) / c_n_length.unsqueeze(-1);
  const auto n_ca_unit = (next_ca - next_n) / norm(next_ca - next_n, 1e-6).unsqueeze(-1);
  const auto scalar = [&](double value) { return at::full({}, value, x.options()); };
  const auto ca_c_n = flat_bottom((c_ca_unit * c_n_unit).sum(-1), scalar(rc::between_res_cos_angles_ca_c_n[0]),
                                  scalar(tolerance_factor * length_sd[0]), squared);
  const auto ca_c_n_mask = this_ca_mask * this_c_mask * next_n_mask * gap_free;
  const auto c_n_ca = flat_bottom((-c_n_unit * n_ca_unit).sum(-1), scalar(rc::between_res_cos_angles_c_n_ca[0]),
                                  scalar(tolerance_factor * rc::between_res_cos_angles_c_n_ca[1]), squared);
  const auto c_n_ca_mask = this_c_mask * next_n_mask * next_ca_mask * gap_free;

  // Each connection counts half for each of its two residues (its loss) or fully (its violation). As in
  // AlphaFold, the per-residue loss sum is not masked.
  const auto pad_after = [](const at::Tensor& t) { return at::constant_pad_nd(t, {0, 1}); };  // [L - 1] -> [L]
  const auto pad_before = [](const at::Tensor& t) { return at::constant_pad_nd(t, {1, 0}); };
  const auto loss_sum = c_n.loss + ca_c_n.loss + c_n_ca.loss;  // [L - 1]
  const auto violation = at::maximum(at::maximum(c_n_mask * c_n.violation, ca_c_n_mask * ca_c_n.violation),
                                     c_n_ca_mask * c_n_ca.violation);
  v.bonds_c_n_loss_mean = masked_mean(c_n_mask, c_n.loss);
  v.angles_ca_c_n_loss_mean = masked_mean(ca_c_n_mask, ca_c_n.loss);
  v.angles_c_n_ca_loss_mean = masked_mean(c_n_ca_mask, c_n_ca.loss);
  v.connections_per_residue_loss_sum = 0.5 * (pad_after(loss_sum) + pad_before(loss_sum));
  v.connections_per_residue_violation_mask = at::maximum(pad_after(violation), pad_before(violation));
  v.connections_loss_sum = (c_n_mask * c_n.loss + ca_c_n_mask * ca_c_n.loss + c_n_ca_mask * c_n_ca.loss).sum();
}

// The residue pairs (i, j), residue_index[i] < residue_index[j], whose atoms can come closer than
// `max_contact` Angstrom: bounding spheres (centre: the mean of the residue's atoms) within reach. [P] each.
std::pair<at::Tensor, at::Tensor> clash_candidate_pairs(const at::Tensor& residue_index, const at::Tensor& x,
                                                        const at::Tensor& e, double max_contact, bool all_pairs) {
  const auto xd = x.detach();
  auto candidates = residue_index.unsqueeze(1) < residue_index.unsqueeze(0);  // [L, L]
  if (!all_pairs) {
    const auto count = e.sum(-1, true);                                                   // [L, 1]
    const auto centre = (xd * e.unsqueeze(-1)).sum(1) / count.clamp_min(1);               // [L, 3]
    const auto radius = (norm(xd - centre.unsqueeze(1), 0) * e).amax(-1);                 // [L]
    const auto reach = radius.unsqueeze(1) + radius.unsqueeze(0) + (max_contact + 1e-2);  // [L, L], 0.01 A for rounding
    const auto has_atoms = count.squeeze(-1) > 0;
    candidates = candidates & (at::cdist(centre, centre) <= reach) & has_atoms.unsqueeze(1) & has_atoms.unsqueeze(0);
  }
  const auto pairs = candidates.nonzero();  // [P, 2]
  return {pairs.select(1, 0), pairs.select(1, 1)};
}

// all_atom.between_residue_clash_loss, evaluated on the atom pairs closer than their bound only (found among the
// candidate residue pairs): every other pair adds nothing but its count to the mean's denominator, which is
// counted in closed form. Sets the clash fields of `v`.
void between_residue_clashes(const at::Tensor& aatype, const at::Tensor& residue_index, const at::Tensor& x,
                             const at::Tensor& e, const ViolationOptions& options, StructuralViolations& v) {
  static const at::Tensor radius_table = atom14_radius_table();                                              // [21, 14]
  const auto radius = radius_table.to(x.device(), x.scalar_type()).index_select(0, aatype.reshape(-1)) * e;  // [L, 14]
  const double tolerance = options.clash_overlap_tolerance;
  const double max_contact = 2 * radius_table.max().item<double>() - tolerance;
  const auto [first, second] = clash_candidate_pairs(residue_index, x, e, max_contact, options.all_residue_pairs);

  // The atom pairs of the candidate residue pairs that can contribute: closer than their bound (measured without
  // gradients), and not exempt: the peptide bond C(i)-N(i+1), and slot 5 with slot 5 (CYS SG-SG). [Q] each,
  // indices into the flattened [L * 14] atoms.
  at::Tensor atom_i, atom_j;
  {
    auto exempt_c_n = at::zeros({rc::atom14_num, rc::atom14_num}, x.options());
    exempt_c_n.index_put_({kC, kN}, 1);
    auto exempt_sg = at::zeros_like(exempt_c_n);
    exempt_sg.index_put_({kCysSg, kCysSg}, 1);
    const auto xd = x.detach();
    const auto neighbours = (residue_index.index_select(0, first) + 1 == residue_index.index_select(0, second))
                                .to(x.scalar_type())
                                .view({-1, 1, 1});
    const auto mask = e.index_select(0, first).unsqueeze(2) * e.index_select(0, second).unsqueeze(1) *
                      (1 - neighbours * exempt_c_n) * (1 - exempt_sg);  // [P, 14, 14]
    const auto squared_dists =
        (xd.index_select(0, first).unsqueeze(2) - xd.index_select(0, second).unsqueeze(1)).square().sum(-1);
    const auto lower = radius.index_select(0, first).unsqueeze(2) + radius.index_select(0, second).unsqueeze(1);
    const auto bound = at::relu(lower - tolerance) + 1e-3;  // Angstrom; the margin covers rounding
    const auto pairs = ((mask > 0) & (squared_dists < bound.square())).nonzero();  // [Q, 3]: pair, atom of i, of j
    atom_i = first.index_select(0, pairs.select(1, 0)) * rc::atom14_num + pairs.select(1, 1);
    atom_j = second.index_select(0, pairs.select(1, 0)) * rc::atom14_num + pairs.select(1, 2);
  }
  const auto xf = x.reshape({-1, 3}), rf = radius.reshape({-1});  // [L * 14, 3], [L * 14]
  const auto dists = (1e-10 + (xf.index_select(0, atom_i) - xf.index_select(0, atom_j)).square().sum(-1)).sqrt();
  const auto lower = rf.index_select(0, atom_i) + rf.index_select(0, atom_j);  // [Q]
  const auto error = excess_loss(lower - tolerance - dists, options.squared_losses);
  const auto clash = (dists < lower - tolerance).to(x.scalar_type());

  // The denominator: every atom pair of every residue pair (i before j), less the exempt ones.
  const auto before = (residue_index.unsqueeze(1) < residue_index.unsqueeze(0)).to(x.scalar_type());     // [L, L]
  const auto next = (residue_index.unsqueeze(1) + 1 == residue_index.unsqueeze(0)).to(x.scalar_type());  // [L, L]
  const auto n_atoms = e.sum(-1);                                                                        // [L]
  const auto pair_count = before * (n_atoms.unsqueeze(1) * n_atoms.unsqueeze(0) -
                                    next * e.select(1, kC).unsqueeze(1) * e.select(1, kN).unsqueeze(0) -
                                    e.select(1, kCysSg).unsqueeze(1) * e.select(1, kCysSg).unsqueeze(0));

  const auto per_atom = [&](const at::Tensor& per_pair, bool any) {  // [Q] -> [L, 14] onto both atoms of each pair
    const auto out =
        at::zeros({e.numel()}, e.options()).index_add(0, atom_i, per_pair).index_add(0, atom_j, per_pair).view_as(e);
    return any ? (out > 0).to(x.scalar_type()) : out;
  };
  v.clashes_mean_loss = error.sum() / (1e-6 + pair_count.sum());
  v.clashes_per_atom_loss_sum = per_atom(error, false);
  v.clashes_per_atom_clash_mask = per_atom(clash, true);
}

// all_atom.within_residue_violations with the bounds of rc::make_atom14_dists_bounds; sets the within-residue
// fields of `v`.
void within_residue(const at::Tensor& aatype, const at::Tensor& x, const at::Tensor& e, const ViolationOptions& options,
                    StructuralViolations& v) {
  const auto [lower_table, upper_table] =
      atom14_dists_bounds(options.clash_overlap_tolerance, options.violation_tolerance_factor);
  const auto lower = lower_table.to(x.device(), x.scalar_type()).index_select(0, aatype);          // [L, 14, 14]
  const auto upper = upper_table.to(x.device(), x.scalar_type()).index_select(0, aatype);          // [L, 14, 14]
  const auto mask = (1 - at::eye(rc::atom14_num, x.options())) * e.unsqueeze(2) * e.unsqueeze(1);  // [L, 14, 14]
  const auto dists = (1e-10 + (x.unsqueeze(2) - x.unsqueeze(1)).square().sum(-1)).sqrt();          // [L, 14, 14]
  const auto loss =
      mask * (excess_loss(lower - dists, options.squared_losses) + excess_loss(dists - upper, options.squared_losses));
  const auto violations = mask * ((dists < lower) | (dists > upper)).to(x.scalar_type());
  v.within_per_atom_loss_sum = loss.sum(1) + loss.sum(2);
  v.within_per_atom_violations = at::maximum(violations.amax(1), violations.amax(2));
}

void check_shapes(const at::Tensor& aatype, const at::Tensor& residue_index, const at::Tensor& x, const at::Tensor& e) {
  const int64_t n_res = aatype.numel();
  if (aatype.dim() != 1 || residue_index.sizes() != aatype.sizes() ||
      x.sizes() != at::IntArrayRef{n_res, rc::atom14_num, 3} || e.sizes() != at::IntArrayRef{n_res, rc::atom14_num})
    fail_input(
        "structural violations: expected aatype [L], residue_index [L], atom14 positions [L, 14, 3] and "
        "mask [L, 14]; got [{}], [{}], [{}], [{}]",
        fmt::join(aatype.sizes(), ", "), fmt::join(residue_index.sizes(), ", "), fmt::join(x.sizes(), ", "),
        fmt::join(e.sizes(), ", "));
}

}  // namespace

StructuralViolations find_structural_violations(const at::Tensor& aatype, const at::Tensor& residue_index,
                                                const at::Tensor& atom14_positions, const at::Tensor& atom14_exists,
                                                const ViolationOptions& options) {
  check_shapes(aatype, residue_index, atom14_positions, atom14_exists);
  const auto& x = atom14_positions;
  const auto e = atom14_exists.to(x.scalar_type());
  const auto ri = residue_index.to(x.device(), at::kLong);
  const auto aa = aatype.to(x.device(), at::kLong);
  const int64_t n_res = x.size(0);
  const auto gap_free =
      (ri.narrow(0, 1, std::max<int64_t>(n_res - 1, 0)) - ri.narrow(0, 0, std::max<int64_t>(n_res - 1, 0)) == 1)
          .to(x.scalar_type());  // [L - 1]

  StructuralViolations v;
  between_residue_bonds(aa, gap_free, x, e, options.violation_tolerance_factor, options.squared_losses, v);
  between_residue_clashes(aa, ri, x, e, options, v);
  within_residue(aa, x, e, options, v);
  v.total_per_residue_violations_mask =
      at::maximum(at::maximum(v.connections_per_residue_violation_mask, v.clashes_per_atom_clash_mask.amax(-1)),
                  v.within_per_atom_violations.amax(-1));
  return v;
}

ViolationMetrics compute_violation_metrics(const at::Tensor& residue_index, const at::Tensor& atom14_positions,
                                           const at::Tensor& atom14_exists, const StructuralViolations& violations) {
  const auto x = atom14_positions.detach().to(at::kCPU, at::kFloat);
  const auto e = atom14_exists.to(at::kCPU, at::kFloat);
  const auto ri = residue_index.to(at::kCPU, at::kLong);
  const int64_t n_res = x.size(0);
  const auto ratio = [](double count, double total) { return total > 0 ? count / total : 0.0; };  // mask_mean
  const auto fraction = [&](const at::Tensor& per_residue) {
    return ratio(per_residue.detach().to(at::kCPU, at::kDouble).sum().item<double>(), static_cast<double>(n_res));
  };

  ViolationMetrics m;
  if (n_res > 1) {  // consecutive CA atoms more than 1.5 A beyond the trans distance
    const auto ca = x.select(1, kCa), ca_mask = e.select(1, kCa);
    const auto head = Slice(None, n_res - 1), tail = Slice(1, None);
    const auto distance = norm(ca.index({head}) - ca.index({tail}), 1e-6);
    const auto violation = ((distance - rc::ca_ca) > 1.5).to(at::kFloat);
    const auto mask =
        ca_mask.index({head}) * ca_mask.index({tail}) * (ri.index({tail}) - ri.index({head}) == 1).to(at::kFloat);
    m.extreme_ca_ca_distance = ratio((mask * violation).sum().item<double>(), mask.sum().item<double>());
  }
  m.between_residue_bond = fraction(violations.connections_per_residue_violation_mask);
  m.between_residue_clash = fraction(violations.clashes_per_atom_clash_mask.amax(-1));
  m.within_residue = fraction(violations.within_per_atom_violations.amax(-1));
  m.per_residue = fraction(violations.total_per_residue_violations_mask);
  const auto flagged =
      violations.total_per_residue_violations_mask.detach().to(at::kCPU).nonzero().reshape(-1).contiguous();
  m.residue_violations.assign(flagged.data_ptr<int64_t>(), flagged.data_ptr<int64_t>() + flagged.numel());
  return m;
}

ViolationMetrics check_structure(const at::Tensor& aatype, const at::Tensor& residue_index,
                                 const at::Tensor& atom37_positions, const at::Tensor& atom37_mask,
                                 const ViolationOptions& options) {
  const auto aa = aatype.to(atom37_positions.device(), at::kLong);
  const auto positions = atom37_to_atom14(atom37_positions.to(at::kFloat), aa);            // [L, 14, 3]
  const auto exists = atom14_mask(aa) * atom37_to_atom14(atom37_mask.to(at::kFloat), aa);  // [L, 14]
  const auto violations = find_structural_violations(aa, residue_index, positions, exists, options);
  return compute_violation_metrics(residue_index, positions, exists, violations);
}

}  // namespace kfold::fold
