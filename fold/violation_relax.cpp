// Restrained minimisation of AlphaFold's violation losses (fold/violation_relax.hpp).
#include "fold/violation_relax.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <torch/optim/lbfgs.h>

#include <chrono>
#include <cmath>
#include <initializer_list>
#include <mutex>
#include <vector>

#include "data/interrupt.hpp"
#include "data/log.hpp"
#include "data/residue_constants.hpp"
#include "fold/all_atom.hpp"
#include "fold/rigid.hpp"

namespace kfold::fold {
namespace {

// Sums over more elements than libtorch's grain size are split across threads, so their last bits depend on
// the thread count; the minimisation runs on one thread to be reproducible. libtorch's count is the
// process's (new threads start with it) and OpenMP's the calling thread's: relaxes that overlap (Python
// threads) each restore the count from before the first of them began, never another's 1, and one still
// running keeps its own thread's 1.
class SingleThread {
 public:
  SingleThread() {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (running_++ == 0) threads_before_ = at::get_num_threads();
    at::set_num_threads(1);
  }
  ~SingleThread() {
    const std::lock_guard<std::mutex> lock(mutex_);
    --running_;
    at::set_num_threads(threads_before_);
  }
  SingleThread(const SingleThread&) = delete;
  SingleThread& operator=(const SingleThread&) = delete;

 private:
  static inline std::mutex mutex_;
  static inline int running_ = 0;
  static inline int threads_before_ = 1;
};

// atom14 slots (AlphaFold's restype_name_to_atom14_names: N, CA, C, O, CB first; Ile's CG1, CG2 and Thr's OG1, CG2
// next).
constexpr int64_t kN = 0, kCA = 1, kC = 2, kCB = 4, kSide1 = 5, kSide2 = 6;

// [L] the signed volume (a - o) . ((b - o) x (c - o)) of the atoms at atom14 slots a, b, c about o: its sign is
// the handedness of a chiral centre (Angstrom^3; about 2.5 at a tetrahedral carbon).
at::Tensor signed_volume(const at::Tensor& x, int64_t o, int64_t a, int64_t b, int64_t c) {  // x [L, 14, 3]
  const auto origin = x.select(1, o);
  return ((x.select(1, a) - origin) * at::linalg_cross(x.select(1, b) - origin, x.select(1, c) - origin, -1)).sum(-1);
}

// [L - 1] cos of the peptide bond's dihedral omega (CA_i, C_i, N_i+1, CA_i+1): -1 trans, +1 cis.
at::Tensor cos_omega(const at::Tensor& x) {                                                 // x [L, 14, 3]
  const auto ca = x.select(1, kCA).slice(0, 0, -1), c = x.select(1, kC).slice(0, 0, -1);    // [L - 1, 3]
  const auto n_next = x.select(1, kN).slice(0, 1), ca_next = x.select(1, kCA).slice(0, 1);  // [L - 1, 3]
  const auto b2 = n_next - c;
  const auto n1 = at::linalg_cross(c - ca, b2, -1), n2 = at::linalg_cross(b2, ca_next - n_next, -1);
  return (n1 * n2).sum(-1) / (n1.norm(2, -1) * n2.norm(2, -1) + 1e-8);
}

// What the violation losses cannot see: they are distances, and a mirror image has the same ones. Unchecked, the
// minimisation turned L residues into D and trans peptides into cis or twisted ones (a loop pushed into the core:
// 5 residues inverted; two chains 3 A apart: 13 and 3 cis) while it removed the violations. So each chiral centre
// (every CA with a CB; Ile's and Thr's CB) keeps a signed volume of at least kChiralFloor of the natural
// handedness (the residues kfold reads are the 20 L amino acids: positive, 2.2-2.8 A^3, in the ordering used
// here), and each peptide bond between consecutive residues stays on the input's side (trans or cis) no further
// from planar than 30 degrees or than the input was: flat-bottomed squared penalties, zero for a structure that
// keeps them.
constexpr double kChiralFloor = 1.2;  // A^3: about half an ideal centre's; an inversion passes through 0

struct Stereo {
  struct Centre {
    int64_t o, a, b, c;
    at::Tensor mask;  // [L]: where it counts (the residue type has the centre, its four atoms exist)
  };
  std::vector<Centre> centres;
  at::Tensor trans, bound, peptide_mask;  // [L - 1]: trans (1) or cis (0) in the input, the |cos omega| kept, mask

  Stereo(const at::Tensor& aatype, const at::Tensor& residue_index, const at::Tensor& x0, const at::Tensor& exists) {
    const auto has = [&](std::initializer_list<int64_t> slots) {
      auto m = at::ones({x0.size(0)}, x0.options());
      for (const int64_t k : slots) m = m * exists.select(1, k);
      return m;
    };
    const auto beta_branched = (aatype == data::rc::restype_order('I')) | (aatype == data::rc::restype_order('T'));
    centres.push_back({kCA, kN, kC, kCB, has({kCA, kN, kC, kCB})});
    centres.push_back({kCB, kCA, kSide1, kSide2, has({kCB, kCA, kSide1, kSide2}) * beta_branched.to(x0.scalar_type())});
    const auto cos0 = cos_omega(x0);
    trans = (cos0 < 0).to(x0.scalar_type());
    bound = cos0.abs().clamp_max(std::cos(30.0 * M_PI / 180.0));
    const auto present = has({kN, kCA, kC});
    peptide_mask = present.slice(0, 0, -1) * present.slice(0, 1) *
                   (residue_index.slice(0, 1) - residue_index.slice(0, 0, -1) == 1).to(x0.scalar_type());
  }

  at::Tensor penalty(const at::Tensor& x) const {
    auto total = at::zeros({}, x.options());
    for (const Centre& k : centres)
      total = total + ((kChiralFloor - signed_volume(x, k.o, k.a, k.b, k.c)).relu().square() * k.mask).sum();
    if (x.size(0) < 2) return total;
    // trans: cos omega <= -bound; cis: cos omega >= bound.
    const auto cos = cos_omega(x);
    const auto excess = trans * (cos + bound) + (1 - trans) * (bound - cos);
    return total + (excess.relu().square() * peptide_mask).sum();
  }
};

// The squared violation losses (each atom pair once) and the stereochemistry penalties (Stereo), plus the harmonic
// restraints of the restrained residues' atoms (RelaxOptions).
at::Tensor energy(const at::Tensor& aatype, const at::Tensor& residue_index, const at::Tensor& x,  // x [L, 14, 3]
                  const at::Tensor& x0, const at::Tensor& exists, const at::Tensor& restrained,    // [L, 14], [L]
                  const Stereo& stereo, const RelaxOptions& options) {
  const auto v = find_structural_violations(aatype, residue_index, x, exists, options.objective);
  const auto losses =
      v.connections_loss_sum + 0.5 * (v.clashes_per_atom_loss_sum.sum() + v.within_per_atom_loss_sum.sum());
  const auto restraint = ((x - x0).square().sum(-1) * exists * restrained.unsqueeze(-1)).sum();
  return options.violation_weight * losses + options.stereo_weight * stereo.penalty(x) + options.stiffness * restraint;
}

}  // namespace

RelaxResult relax_structure(const at::Tensor& aatype, const at::Tensor& residue_index,
                            const at::Tensor& atom37_positions, const at::Tensor& atom37_mask,
                            const RelaxOptions& options) {
  const SingleThread single_thread;
  // Gradients on, whatever the caller's mode (a model run in inference mode); the inputs copied out of it.
  const c10::InferenceMode no_inference_mode(false);
  const at::AutoGradMode gradients(true);
  const auto aa = aatype.to(at::kCPU, at::kLong).clone();
  const auto ri = residue_index.to(at::kCPU, at::kLong).clone();
  const auto mask37 = atom37_mask.to(at::kCPU, at::kDouble);
  const auto x37 = atom37_positions.to(at::kCPU, at::kDouble) * mask37.unsqueeze(-1);  // [L, 37, 3]
  const auto exists = atom14_mask(aa).to(at::kDouble) * atom37_to_atom14(mask37, aa);  // [L, 14]
  const auto x0 = atom37_to_atom14(x37, aa);                                           // [L, 14, 3]

  RelaxResult result;
  const auto check = [&](const at::Tensor& x) {
    return compute_violation_metrics(ri, x, exists, find_structural_violations(aa, ri, x, exists, options.check));
  };
  result.initial = check(x0);
  result.final = result.initial;
  result.atom37_positions = x37.to(at::kFloat);
  if (result.initial.residue_violations.empty()) return result;

  const Stereo stereo(aa, ri, x0, exists);
  auto x = x0.clone().requires_grad_(true);
  auto restrained = at::ones({aa.size(0)}, x0.options());
  // Progress for long relaxes (a large complex runs for minutes): a line when a round ends 10 s after the last.
  const auto start = std::chrono::steady_clock::now();
  auto last_line = start;
  for (int64_t round = 0; round < options.max_outer_iterations; ++round) {
    torch::optim::LBFGS optimizer({x}, torch::optim::LBFGSOptions(1.0)
                                           .max_iter(options.max_iterations)
                                           .max_eval(options.max_iterations * 5 / 4)
                                           .history_size(20)
                                           .tolerance_grad(1e-6)
                                           .tolerance_change(1e-9)
                                           .line_search_fn("strong_wolfe"));
    optimizer.step([&] {
      check_interrupt();  // the CLI's Ctrl-C: every evaluation is a safe point (nothing written yet)
      if (options.check_cancelled) options.check_cancelled();
      optimizer.zero_grad();
      auto e = energy(aa, ri, x, x0, exists, restrained, stereo, options);
      e.backward();
      ++result.evaluations;
      return e;
    });
    ++result.rounds;
    result.final = check(x.detach());
    if (const auto now = std::chrono::steady_clock::now(); now - last_line >= std::chrono::seconds(10)) {
      log_info("  relax round {}: {} of {} residues still with structural violations ({:.0f} s)", result.rounds,
               result.final.residue_violations.size(), aa.size(0), std::chrono::duration<double>(now - start).count());
      last_line = now;
    }
    if (result.final.residue_violations.empty()) break;
    // As AlphaFold's relax: the residues still violating are freed from their restraints for the next round.
    for (const int64_t i : result.final.residue_violations) restrained[i] = 0;
  }

  const auto relaxed = x.detach() * exists.unsqueeze(-1);            // [L, 14, 3]
  const auto displacement = (relaxed - x0).square().sum(-1).sqrt();  // [L, 14]
  const double n_atoms = exists.sum().item<double>();
  result.rmsd = n_atoms > 0 ? std::sqrt((displacement.square() * exists).sum().item<double>() / n_atoms) : 0.0;
  result.max_displacement = displacement.max().item<double>();
  const auto moved = atom14_to_atom37(exists, aa).unsqueeze(-1) > 0;      // [L, 37, 1]
  auto relaxed37 = at::where(moved, atom14_to_atom37(relaxed, aa), x37);  // [L, 37, 3]
  // OXT, which atom14 has no slot for, moves rigidly with its residue's CA, C and O.
  const int64_t oxt = data::rc::find_atom_type("OXT");
  const auto frame = [](const at::Tensor& x14) {  // [L, 14, 3] -> frames [L]
    return Rigid::from_3_points(x14.select(1, 1), x14.select(1, 2), x14.select(1, 3));
  };
  const auto has_frame = (mask37.select(1, oxt) > 0) & (exists.slice(1, 1, 4).prod(-1) > 0);  // [L]
  const auto oxt_moved = frame(relaxed).apply(frame(x0).invert_apply(x37.select(1, oxt)));    // [L, 3]
  relaxed37.select(1, oxt).copy_(at::where(has_frame.unsqueeze(-1), oxt_moved, x37.select(1, oxt)));
  result.atom37_positions = relaxed37.to(at::kFloat);
  return result;
}

}  // namespace kfold::fold
