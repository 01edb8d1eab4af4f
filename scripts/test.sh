#!/usr/bin/env bash
# Sets up a fresh machine, builds sigma and runs every test (unit, integration on a throwaway local Slurm
# cluster, e2e). Usage:
#   bash scripts/test.sh            release build in build/release, warnings as errors
#   bash scripts/test.sh asan       AddressSanitizer + UndefinedBehaviorSanitizer build in build/asan
# Extra arguments after the flavour go to ctest (e.g. -L unit); --build-only instead stops after the build.
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:-release}
shift || true
case "$flavour" in
  release) cmake_args=(-DCMAKE_BUILD_TYPE=Release -DSIGMA_WERROR=ON) ;;
  # Line tables only (-g1): a sanitizer's report still names file and line, and the build takes a fifth less.
  asan) cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
                    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" -DSIGMA_WERROR=ON -DSIGMA_SANITIZE=ON
                    -DSIGMA_BENCH=OFF) ;;
  *) echo "test.sh: unknown flavour \"$flavour\" (expected release or asan)" >&2; exit 2 ;;
esac

# Installing packages needs root; anyone else builds and runs the tests with what is installed (the tests that
# need root, such as the local Slurm cluster's, then fail and say so: run `-L unit` for the others).
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-deps.sh
else
  echo "test.sh: not root: skipping scripts/install-deps.sh (run it once as root)" >&2
fi
build=build/$flavour
cmake -S . -B "$build" -G Ninja "${cmake_args[@]}"
cmake --build "$build" -j "$(nproc)"
[ "${1:-}" != --build-only ] || exit 0

# Sanitizer settings reach every test, including processes started by mpirun and srun.
supp=$PWD/tests/sanitizers
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$supp/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

cd "$build"
ctest --output-on-failure --timeout 900 -j "$(nproc)" "$@"
