// The checkout's git revision when kfold was built (`git describe --always --dirty`, "unknown" outside a git
// checkout), written at every build by cmake/write_git_revision.cmake: what --version and run.json report.
#pragma once

namespace kfold::pipelines {

const char* git_revision();

}  // namespace kfold::pipelines
