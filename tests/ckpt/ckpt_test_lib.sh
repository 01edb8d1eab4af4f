# Shared by the checkpoint test scripts: arguments (PROGRAM SIGMA_CKPT MPIRUN; PROGRAM is the fixture or
# sigma-train), mpirun wrapper, scratch directory, failure helper.
set -euo pipefail
FIXTURE=$1 SIGMA_CKPT=$2 MPIEXEC=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
WORK=$(mktemp -d /tmp/sigma_ckpt_script.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ranks() { local n=$1; shift; "$MPIEXEC" -n "$n" --oversubscribe --bind-to none "$@"; }
