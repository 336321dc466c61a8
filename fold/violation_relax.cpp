// Restrained minimisation of AlphaFold's violation losses (fold/violation_relax.hpp).
#include "fold/violation_relax.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <torch/optim/lbfgs.h>

#include <cmath>
#include <mutex>
#include <vector>

#include "data/interrupt.hpp"
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

// The squared violation losses (each atom pair once) plus the harmonic restraints of the restrained residues'
// atoms (RelaxOptions).
at::Tensor energy(const at::Tensor& aatype, const at::Tensor& residue_index, const at::Tensor& x,  // x [L, 14, 3]
                  const at::Tensor& x0, const at::Tensor& exists, const at::Tensor& restrained,    // [L, 14], [L]
                  const RelaxOptions& options) {
  const auto v = find_structural_violations(aatype, residue_index, x, exists, options.objective);
  const auto losses =
      v.connections_loss_sum + 0.5 * (v.clashes_per_atom_loss_sum.sum() + v.within_per_atom_loss_sum.sum());
  const auto restraint = ((x - x0).square().sum(-1) * exists * restrained.unsqueeze(-1)).sum();
  return options.violation_weight * losses + options.stiffness * restraint;
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

  auto x = x0.clone().requires_grad_(true);
  auto restrained = at::ones({aa.size(0)}, x0.options());
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
      auto e = energy(aa, ri, x, x0, exists, restrained, options);
      e.backward();
      ++result.evaluations;
      return e;
    });
    ++result.rounds;
    result.final = check(x.detach());
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
