# Run at every build (pipelines/CMakeLists.txt, target kfold_git_revision): writes OUT, the definition of
# kfold::pipelines::git_revision(), from `git describe --always --dirty` of SOURCE_DIR (GIT: the git command),
# only when it changed, so a build recompiles that one file when the checkout's state moved since the last build
# (a revision taken at configure time went stale: an edited tree reported the revision of the configure).
set(revision "unknown")
if(GIT AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT}" describe --always --dirty --abbrev=10 WORKING_DIRECTORY "${SOURCE_DIR}"
                  OUTPUT_VARIABLE described OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
  if(rc EQUAL 0 AND described)
    set(revision "${described}")
  endif()
endif()
set(text "// Generated at build time by cmake/write_git_revision.cmake.\n#include \"pipelines/git_revision.hpp\"\n\n"
         "const char* kfold::pipelines::git_revision() { return \"${revision}\"; }\n")
set(old "")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
