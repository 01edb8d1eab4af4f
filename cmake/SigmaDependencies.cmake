# Finds every dependency; a missing one stops configuration with the Debian package that provides it
# (scripts/install-deps.sh installs them all).

function(sigma_missing what package)
  message(FATAL_ERROR "sigma: ${what} not found. Install the Debian package '${package}' "
                      "(or run: sudo bash scripts/install-deps.sh)")
endfunction()

find_package(PkgConfig)
if(NOT PkgConfig_FOUND)
  sigma_missing("pkg-config" "pkg-config")
endif()

find_package(Threads REQUIRED)

find_package(yaml-cpp CONFIG QUIET)
if(NOT yaml-cpp_FOUND)
  sigma_missing("yaml-cpp" "libyaml-cpp-dev")
endif()

find_package(Boost 1.74 QUIET COMPONENTS program_options)
if(NOT Boost_FOUND)
  sigma_missing("Boost.Program_options" "libboost-program-options-dev")
endif()

find_package(nlohmann_json 3 CONFIG QUIET)
if(NOT nlohmann_json_FOUND)
  sigma_missing("nlohmann-json" "nlohmann-json3-dev")
endif()

find_package(fmt CONFIG QUIET)
if(NOT fmt_FOUND)
  sigma_missing("fmt" "libfmt-dev")
endif()

pkg_check_modules(XXHASH QUIET IMPORTED_TARGET libxxhash)
if(NOT XXHASH_FOUND)
  sigma_missing("xxHash" "libxxhash-dev")
endif()

# Taxonomy log patterns: RE2 matches in time linear in the line, whatever a site's pattern is.
pkg_check_modules(RE2 QUIET IMPORTED_TARGET re2)
if(NOT RE2_FOUND)
  sigma_missing("RE2" "libre2-dev")
endif()

pkg_check_modules(OPENBLAS QUIET IMPORTED_TARGET openblas)
if(NOT OPENBLAS_FOUND)
  sigma_missing("OpenBLAS" "libopenblas-dev")
endif()

pkg_check_modules(HWLOC QUIET IMPORTED_TARGET hwloc)
if(NOT HWLOC_FOUND)
  sigma_missing("hwloc" "libhwloc-dev")
endif()

pkg_check_modules(PMIX QUIET IMPORTED_TARGET pmix)
if(NOT PMIX_FOUND)
  sigma_missing("PMIx" "libpmix-dev")
endif()

find_package(MPI QUIET COMPONENTS C CXX)
if(NOT MPI_FOUND)
  sigma_missing("Open MPI" "libopenmpi-dev")
endif()

# Parallel HDF5 (the openmpi flavour), found through its pkg-config file.
pkg_check_modules(HDF5 QUIET IMPORTED_TARGET hdf5-openmpi)
if(NOT HDF5_FOUND)
  sigma_missing("parallel HDF5" "libhdf5-openmpi-dev")
endif()

find_path(SLURM_INCLUDE_DIR slurm/spank.h)
find_library(SLURM_LIBRARY slurm)
if(NOT SLURM_INCLUDE_DIR)
  sigma_missing("slurm/spank.h" "slurm-wlm-plugins-dev")
endif()
if(NOT SLURM_LIBRARY)
  sigma_missing("libslurm" "libslurm-dev")
endif()
add_library(sigma_slurm INTERFACE)
target_include_directories(sigma_slurm INTERFACE ${SLURM_INCLUDE_DIR})
target_link_libraries(sigma_slurm INTERFACE ${SLURM_LIBRARY})

find_package(GTest CONFIG QUIET)
if(NOT GTest_FOUND)
  sigma_missing("GoogleTest" "libgtest-dev")
endif()

if(SIGMA_BENCH)
  find_package(benchmark CONFIG QUIET)
  if(NOT benchmark_FOUND)
    sigma_missing("Google Benchmark" "libbenchmark-dev")
  endif()
endif()

# oneDNN is optional: the healthcheck's bf16 GEMM is built only when it is found (libdnnl-dev). Found by path
# because Debian's dnnl-config.cmake demands OpenCL development files the CPU engine does not need.
find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
find_library(DNNL_LIBRARY dnnl)
if(DNNL_INCLUDE_DIR AND DNNL_LIBRARY)
  add_library(sigma_dnnl INTERFACE)
  target_include_directories(sigma_dnnl INTERFACE ${DNNL_INCLUDE_DIR})
  target_link_libraries(sigma_dnnl INTERFACE ${DNNL_LIBRARY})
endif()

# CUDA is optional: the healthcheck's CUDA backend is built only when a toolkit is found.
include(CheckLanguage)
check_language(CUDA)
