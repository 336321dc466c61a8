# Third-party dependencies: Debian packages (scripts/deps/apt.txt) and libtorch from the
# project virtualenv's torch wheel (scripts/deps/requirements.txt). scripts/setup installs both.
find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(ZLIB REQUIRED)
find_package(fmt REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(HDF5 REQUIRED COMPONENTS C)

# gemmi (PDB/mmCIF) is header-only in Debian's gemmi-dev.
find_path(GEMMI_INCLUDE_DIR gemmi/model.hpp REQUIRED)
add_library(kfold_gemmi INTERFACE)
target_include_directories(kfold_gemmi SYSTEM INTERFACE ${GEMMI_INCLUDE_DIR})

# stb (PNG writing, a bitmap font for the plots) is header-only in Debian's libstb-dev; the one
# implementation of stb_image_write lives in pipelines/predict/raster.cpp.
find_path(STB_INCLUDE_DIR stb_image_write.h PATH_SUFFIXES stb REQUIRED)
add_library(kfold_stb INTERFACE)
target_include_directories(kfold_stb SYSTEM INTERFACE ${STB_INCLUDE_DIR})

# libtorch: the venv's torch wheel tells where its CMake config lives.
# Under `pip install .` (scikit-build-core) it is the Python that installs kfold; -E there ignores a
# build-isolation PYTHONPATH, so torch comes from that environment, never from a second download.
set(_kfold_python "${CMAKE_SOURCE_DIR}/.venv/bin/python")
set(_kfold_python_flags "")
if(SKBUILD AND DEFINED Python_EXECUTABLE)
  set(_kfold_python "${Python_EXECUTABLE}")
  set(_kfold_python_flags -E)
endif()
set(KFOLD_PYTHON_EXECUTABLE "${_kfold_python}" CACHE FILEPATH
    "Python of the project virtualenv (holds the torch wheel)")
if(NOT EXISTS "${KFOLD_PYTHON_EXECUTABLE}")
  message(FATAL_ERROR "${KFOLD_PYTHON_EXECUTABLE} not found: run scripts/setup first "
                      "(or pass -DKFOLD_PYTHON_EXECUTABLE=/path/to/python with torch installed)")
endif()
execute_process(
  COMMAND "${KFOLD_PYTHON_EXECUTABLE}" ${_kfold_python_flags} -c
          "import torch,torch.utils; print(torch.utils.cmake_prefix_path); print(torch.version.cuda or '')"
  OUTPUT_VARIABLE _torch_info OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _torch_rc)
if(NOT _torch_rc EQUAL 0)
  message(FATAL_ERROR "torch is not importable from ${KFOLD_PYTHON_EXECUTABLE}: run scripts/setup")
endif()
string(REPLACE "\n" ";" _torch_info "${_torch_info}")
list(GET _torch_info 0 _torch_prefix)
list(LENGTH _torch_info _n)
set(KFOLD_TORCH_CUDA_VERSION "")
if(_n GREATER 1)
  list(GET _torch_info 1 KFOLD_TORCH_CUDA_VERSION)
endif()
list(APPEND CMAKE_PREFIX_PATH "${_torch_prefix}")

# CUDA: AUTO turns it on when nvcc exists and the torch wheel was built with CUDA.
# A toolkit whose bin/ is not on PATH (NVIDIA's packages and runfile install to /usr/local/cuda and leave
# PATH alone: a fresh machine) is named here: torch's config (FindCUDA) finds that toolkit by itself and
# enables CUDA whenever the wheel has it, even with KFOLD_CUDA=OFF, and without a compiler configuring
# then fails ("Failed to detect a default CUDA architecture").
if(KFOLD_TORCH_CUDA_VERSION AND NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
  find_program(_kfold_nvcc nvcc NO_CACHE)  # on PATH: CMake's own search finds it
  if(NOT _kfold_nvcc)
    find_program(_kfold_nvcc nvcc PATHS ENV CUDA_HOME ENV CUDA_PATH /usr/local/cuda PATH_SUFFIXES bin
                 NO_DEFAULT_PATH NO_CACHE)
    if(_kfold_nvcc)
      message(STATUS "nvcc is not on PATH: using ${_kfold_nvcc}")
      set(CMAKE_CUDA_COMPILER "${_kfold_nvcc}" CACHE FILEPATH "CUDA compiler" FORCE)
    endif()
  endif()
endif()
include(CheckLanguage)
set(_want_cuda OFF)
if(KFOLD_CUDA STREQUAL "ON")
  set(_want_cuda ON)
elseif(KFOLD_CUDA STREQUAL "AUTO" AND KFOLD_TORCH_CUDA_VERSION)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(_want_cuda ON)
  endif()
endif()
if(_want_cuda)
  if(NOT CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES ${KFOLD_CUDA_ARCHITECTURES})
  endif()
  enable_language(CUDA)
  # CUDA uses the same C++ standard as the host code. CMake 3.25 predates nvcc's C++20 flag
  # table, so name the flag here (nvcc >= 12 accepts -std=c++20).
  if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION OR CMAKE_CUDA20_STANDARD_COMPILE_OPTION STREQUAL "")
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    list(APPEND CMAKE_CUDA_COMPILE_FEATURES cuda_std_20)
  endif()
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  set(CMAKE_CUDA_EXTENSIONS OFF)
  # CMake 3.25's FindCUDAToolkit marks CUDA::nvToolsExt deprecated without checking that it exists, and
  # CUDA >= 12 has no libnvToolsExt (nvtx3 is header-only): an empty target for it to mark (fixed in 3.26).
  if(CMAKE_VERSION VERSION_LESS 3.26 AND NOT TARGET CUDA::nvToolsExt)
    add_library(CUDA::nvToolsExt INTERFACE IMPORTED)
  endif()
  find_package(CUDAToolkit REQUIRED)
  set(KFOLD_CUDA ON)
else()
  set(KFOLD_CUDA OFF)
endif()

# Torch's config probes CUDA itself; keep its noise (and its old FindCUDA policy) out of our way.
if(POLICY CMP0146)
  cmake_policy(SET CMP0146 OLD)
endif()
# Name the architectures so torch's config does not try to run a GPU probe at configure time: whenever
# the wheel has CUDA, even with KFOLD_CUDA=OFF (torch's config probes regardless of our kernels).
if((KFOLD_CUDA OR KFOLD_TORCH_CUDA_VERSION) AND NOT DEFINED TORCH_CUDA_ARCH_LIST)
  set(TORCH_CUDA_ARCH_LIST "")
  foreach(_arch_entry IN LISTS KFOLD_CUDA_ARCHITECTURES)
    # CMake's "90" is code and PTX, "80-real" code only: torch's list spells them 9.0+PTX and 8.0.
    string(REGEX REPLACE "-.*$" "" _arch "${_arch_entry}")
    math(EXPR _major "${_arch} / 10")
    math(EXPR _minor "${_arch} % 10")
    if(_arch_entry MATCHES "-real$")
      list(APPEND TORCH_CUDA_ARCH_LIST "${_major}.${_minor}")
    else()
      list(APPEND TORCH_CUDA_ARCH_LIST "${_major}.${_minor}+PTX")
    endif()
  endforeach()
endif()
find_package(Torch REQUIRED)
# The RUNPATH of kfold and kfold._core, built and installed: the libtorch (site-packages/torch/lib) and CUDA
# runtime they were built against; the venv's own directory, not the checkout's .venv link to it.
file(REAL_PATH "${TORCH_INSTALL_PREFIX}/lib" KFOLD_INSTALL_RPATH)
if(KFOLD_CUDA)
  # The CUDA runtime the torch wheel ships (site-packages/nvidia/cu<major>/lib) before the toolkit's: a process
  # loads one libcudart.so.<major>, the first found, and torch was built for the wheel's, at times a newer minor
  # version than the toolkit's (13.2 against 13.0: torch then ran on 13.0); kfold's kernels run on any runtime
  # of their major version. Nodes then need no toolkit at the build machine's path.
  file(GLOB _kfold_wheel_cudart "${TORCH_INSTALL_PREFIX}/../nvidia/*/lib/libcudart.so.${CUDAToolkit_VERSION_MAJOR}")
  foreach(_lib IN LISTS _kfold_wheel_cudart)
    get_filename_component(_dir "${_lib}" DIRECTORY)
    file(REAL_PATH "${_dir}" _dir)
    list(APPEND KFOLD_INSTALL_RPATH "${_dir}")
  endforeach()
  list(APPEND KFOLD_INSTALL_RPATH "${CUDAToolkit_LIBRARY_DIR}")
endif()
# TORCH_LIBRARIES carries torch_cuda when the wheel has CUDA; TORCH_CXX_FLAGS sets the ABI.
add_library(kfold_torch INTERFACE)
target_link_libraries(kfold_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(kfold_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
separate_arguments(_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
target_compile_options(kfold_torch INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${_torch_flags}>)
# libtorch's include dir carries its own fmt (a newer major version, not exported by libtorch):
# code that sees torch headers uses that fmt header-only; the rest links Debian's libfmt.
target_compile_definitions(kfold_torch INTERFACE FMT_HEADER_ONLY=1)
# The CUDA wheel's libraries (cuDNN, NCCL, cuBLAS...) live in site-packages/nvidia/*/lib;
# point the linker there so libtorch_cuda's dependencies resolve to the versions it was built with.
file(GLOB _nvidia_lib_dirs LIST_DIRECTORIES true "${_torch_prefix}/../../../nvidia/*/lib"
     "${_torch_prefix}/../../../nvidia/cu*/lib")
foreach(_dir IN LISTS _nvidia_lib_dirs)
  target_link_options(kfold_torch INTERFACE "LINKER:-rpath-link,${_dir}")
endforeach()
