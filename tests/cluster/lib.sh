# Helpers for integration tests on sigma's local Slurm cluster. Source it; it expects
#   SIGMA_CLUSTER_SCRIPT  path of cluster/sigma-cluster
#   SIGMA_CLUSTER_DIR     the running cluster's directory (the ctest fixture starts it)
set -euo pipefail

: "${SIGMA_CLUSTER_SCRIPT:?}" "${SIGMA_CLUSTER_DIR:?}"

# Runs a Slurm client (or anything) inside the cluster.
on_cluster() { "$SIGMA_CLUSTER_SCRIPT" exec "$SIGMA_CLUSTER_DIR" -- "$@"; }

now() { date +%s.%N; }
seconds_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# FAIL_NOTE (optional): a file that keeps the reason too, also when fail runs in a subshell ($(...)).
fail() {
  echo "FAIL: $*" >&2
  [ -z "${FAIL_NOTE:-}" ] || echo "$*" >>"$FAIL_NOTE"
  exit 1
}
pass() { echo "PASS: $*"; }

# expect_line LINE FAILURE COMMAND...: runs COMMAND on the cluster and shows its output; fails with FAILURE
# unless one line of it is exactly LINE.
expect_line() {
  local line=$1 failure=$2 out
  shift 2
  out=$(on_cluster "$@")
  echo "$out"
  echo "$out" | grep -qx "$line" || fail "$failure"
}

# A scratch directory that every node can see (the nodes share this machine's filesystem).
scratch() {
  local dir
  dir=$(mktemp -d "$SIGMA_CLUSTER_DIR/scratch.XXXXXX")
  chmod 755 "$dir"
  echo "$dir"
}

job_field() {  # job_field JOBID FIELD  -> value of FIELD= in scontrol show job
  on_cluster scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

node_state() { on_cluster sinfo -h -n "$1" -o '%T' | head -1; }

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s. SECONDS is a hang guard, not a speed
# claim: at least 60, since a shared CI machine can be several times slower than a quiet one.
wait_until() {
  local timeout=$1 what=$2
  shift 2
  local deadline=$(( $(date +%s) + timeout ))
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${timeout}s waiting for: $what"
    sleep 0.2
  done
}

job_in_state() { [ "$(job_field "$1" JobState)" = "$2" ]; }
node_is() { node_state "$1" | grep -qx "$2"; }

all_nodes_idle() { ! on_cluster sinfo -h -N -o '%T' | grep -qvx idle; }

# Leave the shared cluster as the next test expects it: no jobs, every node idle.
restore_cluster() {
  rm -f "$SIGMA_CLUSTER_DIR"/faults/*
  on_cluster scancel --user=root >/dev/null 2>&1 || true
  for node in $(cat "$SIGMA_CLUSTER_DIR/etc/nodes"); do
    case "$(node_state "$node")" in
      drain*|drained*|down*|fail*) on_cluster scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true ;;
    esac
  done
  wait_until 60 "every node idle again" all_nodes_idle
}

# json_field FIELD: FIELD of each JSON line on stdin (dotted: details.prolog_s), e.g. of ledger events.
json_field() {
  /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    value = json.loads(line)
    for key in sys.argv[1].split("."):
        value = value.get(key, "") if isinstance(value, dict) else ""
    print(value)' "$1"
}

# Training ranks of a job under `sigma-launch supervise`, found through the heartbeat directory it hands them
# (SIGMA_HEARTBEAT_DIR): the step reached by the slowest rank, and the PID and node of training rank RANK.
slowest_step() {
  cat "$1"/rank-* 2>/dev/null | grep -o '"step":[0-9]*' | cut -d: -f2 | sort -n | head -1
}
reached_step() { [ "$(slowest_step "$1")" -ge "$2" ] 2>/dev/null; }
rank_pid_in() {  # rank_pid_in HEARTBEAT_DIR RANK
  local pid env
  for pid in $(pgrep -f "sigma-train train"); do
    # Read first, then match: `tr | grep -q` fails under pipefail when grep quits before tr has written all.
    env=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null) || continue
    if grep -qx "SLURM_PROCID=$2" <<<"$env" && grep -qx "SIGMA_HEARTBEAT_DIR=$1" <<<"$env"; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}
rank_node() { tr '\0' '\n' <"/proc/$1/environ" | sed -n 's/^SLURMD_NODENAME=//p'; }
