// Stage timings of a prediction and timings.json as AlphaFold's run_alphafold.py writes it:
// {"features": s, "process_features_<model>": s, "predict_and_compile_<model>": s, ...} (indent 4).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace kfold::pipelines {

class Timings {
 public:
  // Records `seconds` under `name` (insertion order is file order; a repeated name overwrites, as a
  // Python dict assignment does).
  void add(const std::string& name, double seconds);
  const std::vector<std::pair<std::string, double>>& entries() const { return entries_; }

  // json.dumps(timings, indent=4).
  std::string json() const;
  void write(const std::filesystem::path& path) const;  // atomic

  // Measures from construction to stop() (or destruction) and records it under `name`.
  class Scope {
   public:
    Scope(Timings& timings, std::string name);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    double stop();  // records and returns the seconds; later calls return the same value

   private:
    Timings& timings_;
    std::string name_;
    std::chrono::steady_clock::time_point start_;
    double seconds_ = -1;
  };

 private:
  std::vector<std::pair<std::string, double>> entries_;
};

}  // namespace kfold::pipelines
