// Benchmark of kfold::attention_pair_bias: time and peak extra memory of the fused op vs the libtorch
// reference vs torch's scaled_dot_product_attention (bias and mask folded into its attn_mask), forward
// and forward + backward, printed as a table with ratios. Run through scripts/bench_kernels.
//   bench_kernels [--device cpu|cuda] [--dtype f32|bf16|f16] [--heads 4] [--dim 32] [--sizes 128,256]
//                 [--repeats 3] [--no-backward] [--skip-reference-above S]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/autograd.h>

#ifdef KFOLD_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "data/host_memory.hpp"
#include "kernels/attention_pair_bias.hpp"
#include "kernels/cuda_memory.hpp"
#include "tensor_memory_peak.hpp"

namespace {

struct Options {
  std::string device = "cpu";
  at::ScalarType dtype = at::kFloat;
  int64_t heads = 4, dim = 32, repeats = 3;
  int64_t skip_reference_above = -1;  // -1: where the reference's and SDPA's logits would not fit the memory left
  std::vector<int64_t> sizes = {128, 256, 512, 768};
  bool backward = true;
};

struct Measure {
  double ms = 0;        // median wall time
  double extra_mb = 0;  // peak memory above what was live before the call
  bool ran = false;
};

void synchronize(const Options& opt) {
#ifdef KFOLD_WITH_CUDA
  if (opt.device == "cuda") c10::cuda::device_synchronize();
#else
  (void)opt;
#endif
}

// Median time of `repeats` runs after one warm-up, and the peak extra memory of one run.
Measure measure(const Options& opt, const std::function<void()>& fn) {
  Measure m;
  m.ran = true;
  fn();
  synchronize(opt);
#ifdef KFOLD_WITH_CUDA
  if (opt.device == "cuda") {
    auto* alloc = c10::cuda::CUDACachingAllocator::get();
    const auto device = c10::cuda::current_device();
    const auto before = c10::cuda::CUDACachingAllocator::getDeviceStats(device)
                            .allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)]
                            .current;
    c10::cuda::CUDACachingAllocator::resetPeakStats(device);
    fn();
    synchronize(opt);
    const auto peak = c10::cuda::CUDACachingAllocator::getDeviceStats(device)
                          .allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)]
                          .peak;
    m.extra_mb = static_cast<double>(peak - before) / (1 << 20);
    (void)alloc;
  }
#endif
  if (opt.device == "cpu") {
    kfold::test::TensorMemoryPeak peak;
    {
      const auto scope = peak.install();
      fn();
    }
    m.extra_mb = peak.megabytes();
  }
  std::vector<double> times;
  for (int64_t i = 0; i < opt.repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    synchronize(opt);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  m.ms = times[times.size() / 2];
  return m;
}

// Whether the reference and SDPA, which hold about 3.5 fp32 copies of the [R, H, S, S] logits at their peak
// (measured: 6.8 GB forward + backward at S = 512, H = 4), fit the memory the device has left, with a quarter
// to spare: at S = 768 on a 24 GB host they were OOM-killed, and the benchmark with them.
bool peers_fit(const Options& opt, int64_t S) {
  const double need = 3.5 * 4.0 * static_cast<double>(S) * static_cast<double>(opt.heads) * static_cast<double>(S) *
                      static_cast<double>(S);  // R = S
#ifdef KFOLD_WITH_CUDA
  // The driver counts what torch's caching allocator keeps from the previous size as used.
  if (opt.device == "cuda") c10::cuda::CUDACachingAllocator::emptyCache();
#endif
  const int64_t left =
      opt.device == "cuda" ? kfold::kernels::cuda_free_memory_bytes(0) : kfold::data::host_available_memory().bytes;
  return left < 0 || need * 1.25 <= static_cast<double>(left);
}

std::vector<int64_t> parse_sizes(const std::string& text) {
  std::vector<int64_t> sizes;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) sizes.push_back(std::stoll(item));
  return sizes;
}

std::string ratio(const Measure& base, const Measure& fused, bool time) {
  if (!base.ran || !fused.ran) return "-";
  // A fused op that allocates under 1 MB gives no meaningful memory ratio.
  if (!time && fused.extra_mb < 1.0) return "n/a";
  char buf[32];
  const double r = time ? base.ms / fused.ms : base.extra_mb / fused.extra_mb;
  std::snprintf(buf, sizeof buf, "%.2fx", r);
  return buf;
}

void print_row(const char* pass, int64_t S, const Measure& fused, const Measure& ref, const Measure& sdpa) {
  auto cell = [](const Measure& m, double value, int decimals) {  // "-" where it did not run
    return m.ran ? fmt::format("{:.{}f}", value, decimals) : std::string("-");
  };
  std::printf("%-8s %5lld | %9s %9s %9s | %8s %8s | %9s %9s %9s | %8s %8s\n", pass, static_cast<long long>(S),
              cell(fused, fused.ms, 2).c_str(), cell(ref, ref.ms, 2).c_str(), cell(sdpa, sdpa.ms, 2).c_str(),
              ratio(ref, fused, true).c_str(), ratio(sdpa, fused, true).c_str(), cell(fused, fused.extra_mb, 1).c_str(),
              cell(ref, ref.extra_mb, 1).c_str(), cell(sdpa, sdpa.extra_mb, 1).c_str(),
              ratio(ref, fused, false).c_str(), ratio(sdpa, fused, false).c_str());
  std::fflush(stdout);
}

}  // namespace

static int run(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value after " + arg);
      return argv[++i];
    };
    if (arg == "--device")
      opt.device = next();
    else if (arg == "--dtype") {
      const auto d = next();
      opt.dtype = d == "bf16" ? at::kBFloat16 : (d == "f16" ? at::kHalf : at::kFloat);
    } else if (arg == "--heads")
      opt.heads = std::stoll(next());
    else if (arg == "--dim")
      opt.dim = std::stoll(next());
    else if (arg == "--repeats")
      opt.repeats = std::stoll(next());
    else if (arg == "--sizes")
      opt.sizes = parse_sizes(next());
    else if (arg == "--no-backward")
      opt.backward = false;
    else if (arg == "--skip-reference-above")
      opt.skip_reference_above = std::stoll(next());
    else {
      std::fprintf(stderr, "unknown argument %s\n", arg.c_str());
      return 2;
    }
  }
  const auto options = at::TensorOptions().dtype(opt.dtype).device(opt.device == "cuda" ? at::kCUDA : at::kCPU);
  const char* tensor_cores = std::getenv("KFOLD_ATTENTION_TENSOR_CORES");
  std::printf(
      "attention_pair_bias benchmark: device=%s dtype=%s H=%lld D=%lld B=1 R=S threads=%d "
      "KFOLD_ATTENTION_TENSOR_CORES=%s\n",
      opt.device.c_str(), c10::toString(opt.dtype), static_cast<long long>(opt.heads), static_cast<long long>(opt.dim),
      at::get_num_threads(), tensor_cores != nullptr ? tensor_cores : "(unset)");
  if (opt.device == "cuda") {  // what ran, not what was asked for: a fallback must not pass for the kernel
    const auto kinds = kfold::kernels::attention_pair_bias_cuda_kernels(at::empty({1, 1, 1, 1, opt.dim}, options));
    std::printf("CUDA kernels: forward %s, backward %s\n", kinds.forward, kinds.backward);
  }
  std::printf(
      "time in ms (median of %lld), memory = peak MB one call allocates (torch's allocators: tensors, not the\n"
      "CPU kernels' per-task scratch); ratios = other / fused (higher is better; n/a below 1 MB)\n",
      static_cast<long long>(opt.repeats));
  std::printf("%-8s %5s | %9s %9s %9s | %8s %8s | %9s %9s %9s | %8s %8s\n", "pass", "S", "fused", "reference", "sdpa",
              "t ref/f", "t sdpa/f", "MB fused", "MB ref", "MB sdpa", "m ref/f", "m sdpa/f");
  for (const int64_t S : opt.sizes) {
    const int64_t B = 1, R = S, H = opt.heads, D = opt.dim;
    at::manual_seed(0);
    auto q = at::randn({B, R, S, H, D}, options), k = at::randn({B, R, S, H, D}, options),
         v = at::randn({B, R, S, H, D}, options);                                      // [B, R, S, H, D]
    auto bias = at::randn({B, H, S, S}, options);                                      // [B, H, S, S]
    auto mask = (at::rand({B, R, S}, options.dtype(at::kFloat)) > 0.1).to(opt.dtype);  // [B, R, S]
    const bool run_ref = opt.skip_reference_above >= 0 ? S <= opt.skip_reference_above : peers_fit(opt, S);
    if (!run_ref && opt.skip_reference_above < 0)
      std::printf(
          "S = %lld: reference and sdpa skipped, their logits would not fit the memory left "
          "(--skip-reference-above %lld runs them)\n",
          static_cast<long long>(S), static_cast<long long>(S));
    // SDPA on [B, R, H, S, D] with attn_mask = bias + mask bias broadcast to [B, R, H, S, S]; its scale
    // defaults to 1/sqrt(D), like the op.
    auto sdpa = [&](const at::Tensor& qq, const at::Tensor& kk, const at::Tensor& vv, const at::Tensor& bb) {
      auto attn_mask = bb.unsqueeze(1) + kfold::kernels::attention_mask_bias(mask, opt.dtype).unsqueeze(2).unsqueeze(2);
      return at::scaled_dot_product_attention(qq.permute({0, 1, 3, 2, 4}), kk.permute({0, 1, 3, 2, 4}),
                                              vv.permute({0, 1, 3, 2, 4}), attn_mask);
    };
    {
      at::NoGradGuard no_grad;
      Measure fused = measure(opt, [&] { kfold::kernels::attention_pair_bias(q, k, v, bias, mask); });
      Measure ref, sd;
      if (run_ref) ref = measure(opt, [&] { kfold::kernels::attention_pair_bias_reference(q, k, v, bias, mask); });
      if (run_ref) sd = measure(opt, [&] { sdpa(q, k, v, bias); });
      print_row("forward", S, fused, ref, sd);
    }
    if (opt.backward) {
      for (auto* t : {&q, &k, &v, &bias}) t->requires_grad_(true);
      auto w = at::randn({B, R, S, H, D}, options);
      auto fwd_bwd = [&](auto&& fn) {
        auto out = fn();
        torch::autograd::grad({(out * w).sum()}, {q, k, v, bias});
      };
      Measure fused = measure(
          opt, [&] { fwd_bwd([&] { return std::get<0>(kfold::kernels::attention_pair_bias(q, k, v, bias, mask)); }); });
      Measure ref, sd;
      if (run_ref) {
        ref = measure(opt, [&] {
          fwd_bwd([&] { return std::get<0>(kfold::kernels::attention_pair_bias_reference(q, k, v, bias, mask)); });
        });
        sd = measure(opt, [&] { fwd_bwd([&] { return sdpa(q, k, v, bias).permute({0, 1, 3, 2, 4}); }); });
      }
      print_row("fwd+bwd", S, fused, ref, sd);
      for (auto* t : {&q, &k, &v, &bias}) t->requires_grad_(false);
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // no CUDA driver, out of memory, a bad number: said, not terminate()
    const std::string message = e.what();
    std::fprintf(stderr, "bench_kernels: error: %s\n", message.substr(0, message.find('\n')).c_str());
    return 1;
  }
}
