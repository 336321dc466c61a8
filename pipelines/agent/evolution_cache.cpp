// Binary files of the evolution cache: magic, sizes, weights, neighbours, Neff, and the Potts parameters
// with their fit record (little-endian host layout; a file from another architecture fails its checks
// and is refitted), then the SHA-256 of everything before it: a damaged file is never trusted.
#include "pipelines/agent/evolution_cache.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "data/atomic_output.hpp"
#include "data/log.hpp"
#include "data/sha256.hpp"

namespace kfold::pipelines::agent {

namespace {

constexpr char kMagic[8] = {'K', 'F', 'E', 'V', 'O', '0', '2', '\n'};
constexpr size_t kDigestSize = 64;  // hex SHA-256 trailer

template <typename T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
template <typename T>
void put_array(std::string& out, const std::vector<T>& v) {
  put(out, static_cast<int64_t>(v.size()));
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

struct Reader {
  const std::string& s;
  size_t at = 0;
  bool ok = true;
  template <typename T>
  T get() {
    T v{};
    if (at + sizeof(T) > s.size()) {
      ok = false;
      return v;
    }
    std::memcpy(&v, s.data() + at, sizeof(T));
    at += sizeof(T);
    return v;
  }
  template <typename T>
  std::vector<T> get_array(int64_t expected) {
    const int64_t n = get<int64_t>();
    if (!ok || n < 0 || (expected >= 0 && n != expected) || at + static_cast<size_t>(n) * sizeof(T) > s.size()) {
      ok = false;
      return {};
    }
    std::vector<T> v(static_cast<size_t>(n));
    std::memcpy(v.data(), s.data() + at, v.size() * sizeof(T));
    at += v.size() * sizeof(T);
    return v;
  }
};

// Why the values of `e` cannot come from a fit of an alignment of n_seq rows, or "".
std::string implausible_values(const CachedEvolution& e, int64_t n_seq) {
  double neff = 0.0;
  for (size_t s = 0; s < e.weights.weights.size(); ++s) {
    const int64_t n = e.weights.neighbours[s];
    if (n < 1 || n > n_seq || e.weights.weights[s] != 1.0 / static_cast<double>(n))
      return fmt::format("sequence {} has weight {} and {} neighbours", s, e.weights.weights[s], n);
    neff += e.weights.weights[s];  // in compute_sequence_weights' order: the same sum to the bit
  }
  if (e.weights.neff != neff) return fmt::format("Neff {} is not the weights' sum {}", e.weights.neff, neff);
  if (e.potts && !std::all_of(e.potts->params.begin(), e.potts->params.end(), [](float v) { return std::isfinite(v); }))
    return "a Potts parameter is not a finite number";
  return "";
}

}  // namespace

std::string evolution_cache_key(const std::string& alignment_sha256, double identity, bool potts,
                                int64_t potts_iterations, double lambda_h, double lambda_J) {
  return data::sha256_hex(
      fmt::format("kfold-evolution-v1|{}|identity={:.17g}|potts={}|iterations={}|lambda_h={:.17g}|"
                  "lambda_J={:.17g}",
                  alignment_sha256, identity, potts ? 1 : 0, potts ? potts_iterations : 0, lambda_h, lambda_J));
}

std::optional<CachedEvolution> load_evolution_cache(const std::filesystem::path& dir, const std::string& key,
                                                    int64_t n_seq, int64_t n_col) {
  const std::filesystem::path path = dir / (key + ".evo");
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string s = buffer.str();
  if (s.size() < sizeof(kMagic) + kDigestSize || std::memcmp(s.data(), kMagic, sizeof(kMagic)) != 0) {
    log_warn("agent: evolution cache {}: not a cache file of this kfold version; refitting", path.string());
    return std::nullopt;
  }
  const std::string digest = s.substr(s.size() - kDigestSize);
  s.resize(s.size() - kDigestSize);
  if (data::sha256_hex(s) != digest) {
    log_warn("agent: evolution cache {}: checksum mismatch (a damaged file); refitting", path.string());
    return std::nullopt;
  }
  Reader r{s, sizeof(kMagic)};
  CachedEvolution e;
  e.weights.weights = r.get_array<double>(n_seq);
  e.weights.neighbours = r.get_array<int64_t>(n_seq);
  e.weights.neff = r.get<double>();
  const uint8_t has_potts = r.get<uint8_t>();
  if (r.ok && has_potts) {
    PottsModel p;
    p.n_col = r.get<int64_t>();
    p.lambda_J_used = r.get<double>();
    p.fit.objective = r.get<double>();
    p.fit.gradient_norm = r.get<double>();
    p.fit.iterations = r.get<int64_t>();
    p.fit.evaluations = r.get<int64_t>();
    p.fit.converged = r.get<uint8_t>() != 0;
    const std::vector<char> reason = r.get_array<char>(-1);
    p.fit.stop_reason.assign(reason.begin(), reason.end());
    p.params = r.get_array<float>(potts_n_params(n_col));
    if (p.n_col != n_col) r.ok = false;
    e.potts = std::move(p);
  }
  if (!r.ok || r.at != s.size()) {
    log_warn("agent: evolution cache {}: truncated or from another alignment; refitting", path.string());
    return std::nullopt;
  }
  // The checksum finds damage; values someone changed and signed again (a group's shared cache) must still be
  // what a fit gives: each weight is 1 / its neighbour count, Neff their sum, the Potts parameters finite.
  if (const std::string problem = implausible_values(e, n_seq); !problem.empty()) {
    log_warn("agent: evolution cache {}: {}, which no fit gives; refitting (is the cache folder writable by others?)",
             path.string(), problem);
    return std::nullopt;
  }
  return e;
}

void save_evolution_cache(const std::filesystem::path& dir, const std::string& key, const CachedEvolution& e) {
  std::string out(kMagic, sizeof(kMagic));
  put_array(out, e.weights.weights);
  put_array(out, e.weights.neighbours);
  put(out, e.weights.neff);
  put(out, static_cast<uint8_t>(e.potts ? 1 : 0));
  if (e.potts) {
    const PottsModel& p = *e.potts;
    put(out, p.n_col);
    put(out, p.lambda_J_used);
    put(out, p.fit.objective);
    put(out, p.fit.gradient_norm);
    put(out, p.fit.iterations);
    put(out, p.fit.evaluations);
    put(out, static_cast<uint8_t>(p.fit.converged ? 1 : 0));
    put_array(out, std::vector<char>(p.fit.stop_reason.begin(), p.fit.stop_reason.end()));
    put_array(out, p.params);
  }
  out += data::sha256_hex(out);
  data::ensure_directory(dir);
  data::write_file_atomic(dir / (key + ".evo"), out);
}

}  // namespace kfold::pipelines::agent
