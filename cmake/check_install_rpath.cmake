# Run by `cmake --install` (pipelines/CMakeLists.txt): warns when a directory of the installed kfold's RUNPATH
# (KFOLD_RPATH_DIRS) is not searchable by other users, who then get exit 127 ("libtorch.so: cannot open
# shared object file"): a venv in the builder's ~/.cache, scripts/setup's default, under a 0700 /root.
# Run for the cli and the python components: a whole install checks once.
if(_kfold_rpath_checked)
  return()
endif()
set(_kfold_rpath_checked TRUE)
cmake_policy(PUSH)
cmake_policy(VERSION 3.25)  # (install scripts run with no policies set)
set(_kfold_unreachable "")  # "folder (mode)" of each folder others cannot search, once
foreach(dir IN LISTS KFOLD_RPATH_DIRS)
  set(path "${dir}")
  while(NOT path STREQUAL "/" AND NOT path STREQUAL "")
    execute_process(COMMAND stat -L -c %A "${path}" OUTPUT_VARIABLE mode OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE rc ERROR_QUIET)
    if(rc EQUAL 0 AND NOT mode MATCHES "^d........[xt]$")  # the others' search (x) bit, sticky or not
      if(NOT "${path} (${mode})" IN_LIST _kfold_unreachable)
        list(APPEND _kfold_unreachable "${path} (${mode})")
      endif()
      break()
    endif()
    get_filename_component(path "${path}" DIRECTORY)
  endwhile()
endforeach()
if(_kfold_unreachable)
  list(JOIN _kfold_unreachable ", " _kfold_unreachable)
  message(WARNING "kfold's libraries lie below ${_kfold_unreachable}, not searchable by other users: for them the "
                  "installed kfold and kfold._core fail to start (exit 127). For a site install, build from a venv "
                  "in a shared place: KFOLD_VENV=/opt/kfold/venv scripts/setup (README, Installing for a site).")
endif()
cmake_policy(POP)
