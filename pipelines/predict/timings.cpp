// Stage timings and timings.json (AlphaFold's run_alphafold.py).
#include "pipelines/predict/timings.hpp"

#include <utility>

#include "data/atomic_output.hpp"
#include "pipelines/predict/json_text.hpp"

namespace kfold::pipelines {

void Timings::add(const std::string& name, double seconds) {
  for (auto& [key, value] : entries_)
    if (key == name) {
      value = seconds;
      return;
    }
  entries_.emplace_back(name, seconds);
}

std::string Timings::json() const {
  if (entries_.empty()) return "{}";
  std::string out = "{\n";
  for (size_t i = 0; i < entries_.size(); ++i)
    out += "    " + json_string(entries_[i].first) + ": " + python_float(entries_[i].second) +
           (i + 1 < entries_.size() ? ",\n" : "\n");
  return out + "}";
}

void Timings::write(const std::filesystem::path& path) const { data::write_file_atomic(path, json()); }

Timings::Scope::Scope(Timings& timings, std::string name)
    : timings_(timings), name_(std::move(name)), start_(std::chrono::steady_clock::now()) {}

Timings::Scope::~Scope() {
  if (seconds_ >= 0) return;
  try {
    stop();
  } catch (...) {  // out of memory while recording: the timing is lost, the run goes on
  }
}

double Timings::Scope::stop() {
  if (seconds_ < 0) {
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    timings_.add(name_, seconds_);
  }
  return seconds_;
}

}  // namespace kfold::pipelines
