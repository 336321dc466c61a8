// Bindings for the agent loop (`kfold agent`): one round of a campaign with the CLI's options, the
// structure terms from a loaded model when one is given, and cancellation between stages.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "pipelines/agent/agent_run.hpp"
#include "pipelines/agent/campaign.hpp"
#include "pipelines/predict/loaded_model.hpp"
#include "pipelines/predict/model_structure_oracle.hpp"
#include "pipelines/python/bindings.hpp"
#include "pipelines/python/python_runtime.hpp"

namespace kfold::python {

namespace {

namespace fs = std::filesystem;
namespace agent = pipelines::agent;

struct AgentArgs {
  int threads = 0;
  std::optional<uint64_t> seed;
  bool no_potts = false;
  std::optional<int64_t> potts_iterations;
  fs::path evolution_cache;
};

// As `kfold agent CAMPAIGN -o OUT` (pipelines/cli/agent.cpp); `model` predicts the structure_budget
// shortlist (nullptr: no structure terms).
void run_agent_round(const fs::path& campaign_path, const fs::path& out_dir, const AgentArgs& args,
                     const pipelines::LoadedModel* model, const CancelToken& token) {
  agent::AgentOptions options;
  options.out_dir = out_dir;
  options.threads = args.threads;
  options.seed = args.seed;
  options.no_potts = args.no_potts;
  options.potts_iterations = args.potts_iterations;
  options.evolution_cache = args.evolution_cache;
  options.check_cancelled = [&token] { token.throw_if_cancelled(); };
  const auto watched = token.watch();  // the structure predictions stop within a trunk block
  agent::Campaign campaign = agent::read_campaign(campaign_path);  // (once: its warnings said once)
  std::unique_ptr<pipelines::ModelStructureOracle> oracle;
  if (model != nullptr && campaign.structure_budget > 0) {
    oracle = pipelines::campaign_structure_oracle(*model, campaign, 0);
    oracle->set_cancellation_check(options.check_cancelled);
  }
  options.structure_oracle = oracle.get();
  agent::run_agent(std::move(campaign), campaign_path, options);
}

py::dict campaign_summary(const fs::path& path) {
  agent::Campaign campaign;
  {
    const py::gil_scoped_release release;
    campaign = agent::read_campaign(path);
  }
  py::dict d;
  d["name"] = campaign.name;
  d["target_id"] = campaign.target.id;
  d["sequence"] = campaign.target.sequence;
  d["first_residue"] = campaign.target.first_residue;
  d["msa"] = campaign.target.msa;
  d["measurements"] = agent::measured_variant_count(campaign);  // distinct variants, as the surrogate counts
  d["plate_size"] = campaign.plate.size;
  d["structure_budget"] = campaign.structure_budget;
  return d;
}

}  // namespace

void bind_agent(py::module_& m) {
  py::class_<AgentArgs>(m, "AgentArgs", "Options of run_agent(): those of `kfold agent`.")
      .def(py::init<>())
      .def_readwrite("threads", &AgentArgs::threads)
      .def_readwrite("seed", &AgentArgs::seed)
      .def_readwrite("no_potts", &AgentArgs::no_potts)
      .def_readwrite("potts_iterations", &AgentArgs::potts_iterations)
      .def_readwrite("evolution_cache", &AgentArgs::evolution_cache);
  m.def("run_agent", &run_agent_round, py::arg("campaign"), py::arg("out_dir"), py::arg("args"), py::arg("model"),
        py::arg("token"), py::call_guard<py::gil_scoped_release>(),
        "One round of `kfold agent CAMPAIGN -o OUT_DIR`; `model` (a LoadedModel or None) gives the structure terms.");
  m.def("campaign_summary", &campaign_summary, py::arg("path"),
        "Reads and validates a campaign file (InputError naming the file and field); a summary dict.");
}

}  // namespace kfold::python
