# Run last by `cmake --install` (CMakeLists.txt): every folder between the prefix and an installed file becomes
# rwxr-xr-x. CMake creates them through mkdir(2), which the installer's umask masks whatever
# CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS says: under root's umask 077 they were 0700 and the installed kfold
# failed for every other user (exit 126). So does the prefix (often made by the install), unless it is the
# installer's home folder.
cmake_policy(PUSH)
cmake_policy(VERSION 3.25)  # (install scripts run with no policies set)
set(_kfold_prefix "${CMAKE_INSTALL_PREFIX}")  # the manifest's paths have no DESTDIR (packaging's staging root)
set(_kfold_folders "")
foreach(_file IN LISTS CMAKE_INSTALL_MANIFEST_FILES)
  cmake_path(GET _file PARENT_PATH _folder)
  while(NOT _folder IN_LIST _kfold_folders)
    cmake_path(IS_PREFIX _kfold_prefix "${_folder}" NORMALIZE _below)
    if(NOT _below OR (_folder STREQUAL _kfold_prefix AND _folder STREQUAL "$ENV{HOME}"))
      break()
    endif()
    list(APPEND _kfold_folders "${_folder}")
    cmake_path(GET _folder PARENT_PATH _folder)
  endwhile()
endforeach()
foreach(_folder IN LISTS _kfold_folders)
  file(CHMOD "$ENV{DESTDIR}${_folder}" DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
       WORLD_READ WORLD_EXECUTE)
endforeach()
cmake_policy(POP)
