#!/usr/bin/env bash
# Sets up a fresh machine, builds sigma and runs every test (unit, integration on a throwaway local Slurm
# cluster, e2e). Usage:
#   bash scripts/test.sh            release build in build/release, warnings as errors
#   bash scripts/test.sh asan       AddressSanitizer + UndefinedBehaviorSanitizer build in build/asan
# Extra arguments after the flavour go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:-release}
shift || true
case "$flavour" in
  release) cmake_args=(-DCMAKE_BUILD_TYPE=Release -DSIGMA_WERROR=ON) ;;
  asan) cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIGMA_WERROR=ON -DSIGMA_SANITIZE=ON -DSIGMA_BENCH=OFF) ;;
  *) echo "test.sh: unknown flavour \"$flavour\" (expected release or asan)" >&2; exit 2 ;;
esac

bash scripts/install-deps.sh
build=build/$flavour
cmake -S . -B "$build" -G Ninja "${cmake_args[@]}"
cmake --build "$build" -j "$(nproc)"

# Sanitizer settings reach every test, including processes started by mpirun and srun.
supp=$PWD/tests/sanitizers
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$supp/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

cd "$build"
ctest --output-on-failure --timeout 900 -j "$(nproc)" "$@"
