#!/usr/bin/env bash
# Fuzzes the site-config loader with libFuzzer (clang) for SECONDS (default 60); fails on any crash or hang.
# Usage: bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
bash scripts/install-deps.sh
build=build/fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIGMA_FUZZ=ON -DSIGMA_BENCH=OFF
cmake --build "$build" --target sigma_config_fuzz

# Seed corpus: every shipped config and every known-bad one.
corpus=$build/fuzz-corpus
mkdir -p "$corpus"
cp site-configs/*.yaml tests/policy/bad-configs/*.yaml "$corpus/"
"$build/policy/sigma_config_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$build/" "$corpus"
echo "fuzz: no crash, hang or leak in ${seconds}s"
