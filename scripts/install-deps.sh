#!/usr/bin/env bash
# Installs every Debian 12 package that sigma's build, tests, benchmarks and demo need.
# Idempotent: safe to run again; apt-get skips what is already there.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  # Slurm, munge, PMIx, MPI
  slurm-wlm slurmctld slurmd slurm-client libslurm-dev slurm-wlm-plugins-dev munge libmunge-dev
  libpmix-dev openmpi-bin libopenmpi-dev
  # storage, config, CLI, JSON, hashing, formatting
  libhdf5-openmpi-dev hdf5-tools libyaml-cpp-dev libboost-program-options-dev
  nlohmann-json3-dev libxxhash-dev libfmt-dev libre2-dev
  # math and hardware topology
  libopenblas-dev libhwloc-dev libdnnl-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # cluster harness: network namespaces, nsenter
  iproute2 util-linux procps
  # independent readers used by tests
  python3 python3-h5py python3-numpy
  # the demo's loss plot
  python3-matplotlib
  # the PyTorch example under supervision (CPU, gloo); the package itself does not depend on it
  python3-torch
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: must run as root (apt-get install)" >&2
  exit 2
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps.sh: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "install-deps.sh: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
