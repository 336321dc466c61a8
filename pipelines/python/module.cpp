// kfold._core: the compiled part of the `kfold` Python package (pipelines/python/kfold/ wraps it).
// Bindings stay thin: they convert, release the GIL on long calls, and translate errors.
#include <ATen/Parallel.h>
#include <pybind11/stl.h>

#include <algorithm>

#include "data/caller_tag.hpp"
#include "data/cpu_count.hpp"
#include "data/error.hpp"
#include "data/process_owner.hpp"
#include "data/thread_limit.hpp"
#include "pipelines/git_revision.hpp"
#include "pipelines/python/bindings.hpp"
#include "pipelines/python/python_runtime.hpp"
#include "pipelines/version.hpp"
#include "pipelines/version_text.hpp"

namespace kfold::python {

void bind_runtime(py::module_& m) {
  m.attr("__version__") = pipelines::kVersion;
  m.attr("git_revision") = pipelines::git_revision();
  m.def("version_text", &pipelines::version_text, "The text of `kfold --version`.");
  m.def(
      "process_owner_line", [] { return data::owner_line(data::this_process()); },
      "This process as locks name their owner: 'host pid start-time pid-space' (data/process_owner.hpp).");
  m.def(
      "process_owner_running",
      [](const std::string& host, long pid, const std::string& start, const std::string& space) {
        return data::process_is_running({host, pid, start, space});
      },
      py::arg("host"), py::arg("pid"), py::arg("start"), py::arg("space"),
      "Whether a lock's owner runs: True/False where this process can tell (this host and PID namespace; a pid "
      "now another process's is not the owner), None where it cannot.");

  py::class_<CancelToken>(m, "CancelToken", "Cancels a running call at its next progress point.")
      .def(py::init<>())
      .def("cancel", &CancelToken::cancel)
      .def_property_readonly("cancelled", &CancelToken::cancelled);
  m.def(
      "progress_snapshot",
      [](uint64_t call) {
        const auto s = progress_snapshot(call);
        return py::make_tuple(display_text(s.label), s.done, s.total, s.updates);
      },
      py::arg("call") = 0, "(label, done, total, updates) of the call's latest progress report (0: any call's).");
  m.def(
      "take_log_records",
      [](uint64_t call) {
        py::list records;
        for (auto& r : take_log_records(call))
          records.append(py::make_tuple(static_cast<int>(r.level), display_text(r.message)));
        return records;
      },
      py::arg("call") = 0,
      "Log lines (level 0 debug .. 3 error, message) of the call and of no call not yet taken, oldest first.");
  m.def("begin_call", &begin_call, py::arg("call"), "Collects the lines and reports made under tag `call` apart.");
  m.def("end_call", &end_call, py::arg("call"), "Its lines not yet taken, and later ones, count as of no call.");
  m.def(
      "set_caller_tag", [](uint64_t tag) { t_caller_tag = tag; }, py::arg("tag"),
      "The tag of this thread's lines and reports (data/caller_tag.hpp; 0: none).");
  m.def(
      "set_log_level", [](int level) { set_log_level(static_cast<LogLevel>(std::clamp(level, 0, 4))); },
      py::arg("level"), "Lines below this level (0 debug, 1 info, 2 warning, 3 error, 4 none) are not made.");
  m.def(
      "set_threads",
      [](int64_t threads) {
        if (threads < 0 || threads > data::kMaxThreads)
          fail_input("threads {}: must be 0..{}", threads, data::kMaxThreads);
        const int64_t resolved = threads == 0 ? data::default_threads() : threads;
        data::check_threads_can_start(2 * resolved - 1);  // (libtorch's pthreadpool and OpenMP's team, as the CLI)
        at::set_num_threads(static_cast<int>(resolved));
      },
      py::arg("threads"),
      "libtorch's intra-op threads (process-wide; 0: $OMP_NUM_THREADS, else every core this process may use).");
  m.def("get_threads", [] { return at::get_num_threads(); });
  m.attr("MAX_THREADS") = data::kMaxThreads;  // as the CLI's --threads
}

}  // namespace kfold::python

PYBIND11_MODULE(_core, m) {
  namespace kp = kfold::python;
  m.doc() = "kfold's compiled core; use the `kfold` package, which wraps it.";
  kp::install_sinks();
  kp::bind_errors(m);
  kp::bind_runtime(m);
  kp::bind_msa(m);
  // Each class before the functions and properties that take or return it, so that help() names it.
  kp::bind_templates(m);
  kp::bind_features(m);
  kp::bind_template_search(m);
  kp::bind_model(m);
  kp::bind_agent(m);
}
