// Benchmark of one Evoformer block (AlphaFold2 Suppl. Alg. 6 lines 2-10) at a preset's full-size channels with
// deterministic random weights (ParameterStore::random): median time of forward() and the process's peak RSS,
// optionally per module (--profile: time and the peak of the tensors each module allocates, a direct measure
// of what it needs on a GPU too). One size per process, so that the peak RSS is that size's. Run by
// scripts/bench_model.
//   bench_evoformer --n-res 256 [--n-seq 128] [--repeats 3] [--threads 2] [--preset model_1_ptm] [--extra-msa]
//                   [--chunk-size 0] [--attention fused|reference] [--profile] [--kind LABEL]
// Prints a readable summary on stderr and one JSON line on stdout.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "fold/config.hpp"
#include "fold/evoformer_iteration.hpp"
#include "fold/weights.hpp"
#include "tensor_memory_peak.hpp"

namespace {

using kfold::fold::RunOptions;

struct Options {
  int64_t n_res = 128, n_seq = 128, repeats = 3, threads = 0, chunk_size = 0;
  std::string preset = "model_1_ptm", attention = "fused", kind = "block";
  bool extra_msa = false, profile = false;
};

// "VmRSS" (now) or "VmHWM" (peak since start or the last reset_peak_rss) in MB.
double proc_status_mb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) / 1024.0;
  return 0;
}

void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

double elapsed_ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::string json_list(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

Options parse(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value after " + arg);
      return argv[++i];
    };
    if (arg == "--n-res")
      opt.n_res = std::stoll(next());
    else if (arg == "--n-seq")
      opt.n_seq = std::stoll(next());
    else if (arg == "--repeats")
      opt.repeats = std::stoll(next());
    else if (arg == "--threads")
      opt.threads = std::stoll(next());
    else if (arg == "--chunk-size")
      opt.chunk_size = std::stoll(next());
    else if (arg == "--preset")
      opt.preset = next();
    else if (arg == "--kind")
      opt.kind = next();
    else if (arg == "--attention")
      opt.attention = next();
    else if (arg == "--extra-msa")
      opt.extra_msa = true;
    else if (arg == "--profile")
      opt.profile = true;
    else
      throw std::runtime_error("unknown argument " + arg + " (see the header of tests/fold/bench_evoformer.cpp)");
  }
  return opt;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options opt = parse(argc, argv);
  if (opt.threads > 0) at::set_num_threads(static_cast<int>(opt.threads));
  const auto config = kfold::fold::model_config(opt.preset);
  const auto& e = config.model.embeddings_and_evoformer;
  const int64_t c_m = opt.extra_msa ? e.extra_msa_channel : e.msa_channel, c_z = e.pair_channel;
  const int64_t n_res = opt.n_res, n_seq = opt.n_seq;
  RunOptions run;
  run.chunk_size = opt.chunk_size;
  run.attention_kernel =
      opt.attention == "reference" ? kfold::fold::AttentionKernel::reference : kfold::fold::AttentionKernel::fused;

  auto store = kfold::fold::ParameterStore::random(0);
  const auto scope = store->scope(opt.extra_msa ? "alphafold/alphafold_iteration/evoformer/extra_msa_stack"
                                                : "alphafold/alphafold_iteration/evoformer/evoformer_iteration");
  const kfold::fold::EvoformerIteration block(scope, e.evoformer, c_m, c_z, opt.extra_msa);
  at::manual_seed(0);
  const auto msa = at::randn({n_seq, n_res, c_m});   // [n_seq, n_res, c_m]
  const auto pair = at::randn({n_res, n_res, c_z});  // [n_res, n_res, c_z]
  const auto msa_mask = at::ones({n_seq, n_res});    // [n_seq, n_res]
  const auto pair_mask = at::ones({n_res, n_res});   // [n_res, n_res]
  const double rss_before = proc_status_mb("VmRSS");
  const double process_peak = proc_status_mb("VmHWM");  // weights and inputs built
  reset_peak_rss();                                     // from here: the forward passes' peak

  std::vector<double> times;
  const auto warm = std::chrono::steady_clock::now();
  block.forward({msa, pair}, msa_mask, pair_mask, run);
  const double warmup_ms = elapsed_ms(warm);
  for (int64_t r = 0; r < opt.repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    auto out = block.forward({msa, pair}, msa_mask, pair_mask, run);
    times.push_back(elapsed_ms(t0));
  }
  const double peak = proc_status_mb("VmHWM");

  // Per module: the block's modules built separately from the same scopes and run in the block's order
  // (outer product mean after the MSA updates, as in the monomer presets).
  std::vector<std::pair<std::string, std::vector<double>>> modules;
  std::vector<double> module_peak_mb;  // tensors a module allocates at its peak (its output included)
  if (opt.profile && !opt.extra_msa) {
    const auto& c = e.evoformer;
    const kfold::fold::MSARowAttentionWithPairBias row(scope / "msa_row_attention_with_pair_bias",
                                                       c.msa_row_attention_with_pair_bias, c_m, c_z);
    const kfold::fold::MSAColumnAttention column(scope / "msa_column_attention", c.msa_column_attention, c_m);
    const kfold::fold::Transition msa_transition(scope / "msa_transition", c.msa_transition, c_m);
    const kfold::fold::OuterProductMean opm(scope / "outer_product_mean", c.outer_product_mean, c_m, c_z);
    const kfold::fold::TriangleMultiplication tri_out(scope / "triangle_multiplication_outgoing",
                                                      c.triangle_multiplication_outgoing, c_z);
    const kfold::fold::TriangleMultiplication tri_in(scope / "triangle_multiplication_incoming",
                                                     c.triangle_multiplication_incoming, c_z);
    const kfold::fold::TriangleAttention att_start(scope / "triangle_attention_starting_node",
                                                   c.triangle_attention_starting_node, c_z);
    const kfold::fold::TriangleAttention att_end(scope / "triangle_attention_ending_node",
                                                 c.triangle_attention_ending_node, c_z);
    const kfold::fold::Transition pair_transition(scope / "pair_transition", c.pair_transition, c_z);
    at::Tensor m, z;
    const std::vector<std::pair<std::string, std::function<void()>>> steps = {
        {"msa_row_attention_with_pair_bias", [&] { m = m.add(row.forward(m, msa_mask, z, run)); }},
        {"msa_column_attention", [&] { m = m.add(column.forward(m, msa_mask, run)); }},
        {"msa_transition", [&] { m = m.add(msa_transition.forward(m, run)); }},
        {"outer_product_mean", [&] { z = z.add(opm.forward(m, msa_mask, run)); }},
        {"triangle_multiplication_outgoing", [&] { z = z.add(tri_out.forward(z, pair_mask, run)); }},
        {"triangle_multiplication_incoming", [&] { z = z.add(tri_in.forward(z, pair_mask, run)); }},
        {"triangle_attention_starting_node", [&] { z = z.add(att_start.forward(z, pair_mask, run)); }},
        {"triangle_attention_ending_node", [&] { z = z.add(att_end.forward(z, pair_mask, run)); }},
        {"pair_transition", [&] { z = z.add(pair_transition.forward(z, run)); }},
    };
    for (const auto& [name, fn] : steps) modules.emplace_back(name, std::vector<double>{});
    module_peak_mb.assign(steps.size(), 0.0);
    for (int64_t r = 0; r < opt.repeats; ++r) {
      m = msa, z = pair;
      for (size_t s = 0; s < steps.size(); ++s) {
        kfold::test::TensorMemoryPeak module_peak;
        const auto t0 = std::chrono::steady_clock::now();
        {
          const auto counting = module_peak.install();
          steps[s].second();
        }
        modules[s].second.push_back(elapsed_ms(t0));
        module_peak_mb[s] = std::max(module_peak_mb[s], module_peak.megabytes());
      }
    }
  }

  std::fprintf(stderr,
               "kfold evoformer block (%s%s): n_res %lld, n_seq %lld, c_m %lld, c_z %lld, threads %d, attention %s, "
               "chunk %lld\n  median %.1f ms of %lld (warm-up %.1f ms), peak RSS %.0f MB (%.0f MB before forward)\n",
               opt.preset.c_str(), opt.extra_msa ? ", extra MSA" : "", static_cast<long long>(n_res),
               static_cast<long long>(n_seq), static_cast<long long>(c_m), static_cast<long long>(c_z),
               at::get_num_threads(), opt.attention.c_str(), static_cast<long long>(opt.chunk_size), median(times),
               static_cast<long long>(opt.repeats), warmup_ms, peak, rss_before);
  std::string module_json;
  for (size_t i = 0; i < modules.size(); ++i) {
    const auto& [name, t] = modules[i];
    std::fprintf(stderr, "  %-34s %9.1f ms  %8.0f MB peak tensors\n", name.c_str(), median(t), module_peak_mb[i]);
    module_json += (module_json.empty() ? "" : ", ") + ("\"" + name + "\": " + std::to_string(median(t)));
  }
  std::printf(
      "{\"kind\": \"%s\", \"extra_msa\": %s, \"side\": \"kfold\", \"n_res\": %lld, \"n_seq\": %lld, \"c_m\": %lld, "
      "\"c_z\": %lld, "
      "\"threads\": %d, "
      "\"times_ms\": %s, \"median_ms\": %f, \"warmup_ms\": %f, \"peak_rss_mb\": %f, \"process_peak_rss_mb\": %f, "
      "\"rss_before_mb\": %f, "
      "\"modules_ms\": {%s}}\n",
      opt.kind.c_str(), opt.extra_msa ? "true" : "false", static_cast<long long>(n_res), static_cast<long long>(n_seq),
      static_cast<long long>(c_m), static_cast<long long>(c_z), at::get_num_threads(), json_list(times).c_str(),
      median(times), warmup_ms, peak, std::max(peak, process_peak), rss_before, module_json.c_str());
  return 0;
} catch (const std::exception& err) {
  std::fprintf(stderr, "bench_evoformer: %s\n", err.what());
  return 1;
}
