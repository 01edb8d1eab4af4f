#!/usr/bin/env bash
# The supervision protocol as the clients speak it (clients/): a C++ program built on the header alone and a
# Python program importing `sigma` write beats, liveness and blame that sigma's own reader (`sigma-launch beats`)
# takes as a supervisor would, with the attempt and node from the environment; SIGUSR1 ends them with exit 42;
# given the supervisor's liveness port they send liveness as datagrams instead of files (liveness_datagrams.py);
# outside a supervised step they write nothing and still stop on the signal.
# usage: client_protocol_test.sh SIGMA_LAUNCH CLIENT_PROGRAM PYTHON_CLIENT_DIR
set -euo pipefail
launch=$1 cpp_program=$2 python_dir=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/sigma-client-test.XXXXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# beats DIR EXPRESSION: the Python expression over `j`, sigma-launch beats' JSON for DIR, printed.
beats() { "$launch" beats --dir "$1" | /usr/bin/python3 -c "import json, sys; j = json.load(sys.stdin); print($2)"; }

# check NAME COMMAND...: runs the program as rank 3 for 5 steps with a blame, under a supervisor's environment.
check() {
  local name=$1; shift
  local dir=$work/$name
  mkdir -m 0755 "$dir"
  SIGMA_HEARTBEAT_DIR=$dir SIGMA_HEARTBEAT_ATTEMPT=77.1 SIGMA_NODE_NAME=n9 "$@" 3 5 blame &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    [[ $(beats "$dir" "len(j['beats']) and len(j['liveness'])") == 1 ]] && break
    sleep 0.1
  done
  [[ $(beats "$dir" "[(b['rank'], b['step'], b['node'], b['attempt']) for b in j['beats']]") == "[(3, 5, 'n9', '77.1')]" ]] ||
    fail "$name: progress beat: $("$launch" beats --dir "$dir")"
  [[ $(beats "$dir" "[(b['rank'], b['node']) for b in j['liveness']]") == "[(3, 'n9')]" ]] ||
    fail "$name: liveness: $("$launch" beats --dir "$dir")"
  [[ $(beats "$dir" "(j['blame']['rank'], j['blame']['node'])") == "(3, 'n9')" ]] || fail "$name: blame: $("$launch" beats --dir "$dir")"
  local first_alive; first_alive=$(beats "$dir" "j['liveness'][0]['time']")
  sleep 1.5
  [[ $(beats "$dir" "j['liveness'][0]['time'] > $first_alive") == True ]] || fail "$name: liveness did not beat again"
  kill -USR1 "$pid"
  local rc=0; wait "$pid" || rc=$?
  [[ $rc == 42 ]] || fail "$name: exit $rc after SIGUSR1, want 42"
  [[ -z $(find "$dir" -name '.*') ]] || fail "$name: temporary files left: $(ls -A "$dir")"
  echo "ok: $name: beat, liveness and blame read by sigma-launch beats; SIGUSR1 -> exit 42"
}

check cpp "$cpp_program"
check python env PYTHONPATH="$python_dir" /usr/bin/python3 "$here/client_program.py"

mkdir -m 0755 "$work/cpp-datagrams" "$work/python-datagrams"
/usr/bin/python3 "$here/liveness_datagrams.py" "$work/cpp-datagrams" "$cpp_program"
/usr/bin/python3 "$here/liveness_datagrams.py" "$work/python-datagrams" env PYTHONPATH="$python_dir" /usr/bin/python3 \
  "$here/client_program.py"
echo "ok: cpp and python: liveness as datagrams to the supervisor's port, with its token; no alive- file"

# Unsupervised: no directory, nothing written, the stop still works.
cd "$work"
PYTHONPATH=$python_dir /usr/bin/python3 "$here/client_program.py" 0 3 & pid=$!; pids+=("$pid")
sleep 1; kill -USR1 "$pid"; rc=0; wait "$pid" || rc=$?
[[ $rc == 42 ]] || fail "python unsupervised: exit $rc, want 42"
"$cpp_program" 0 3 & pid=$!; pids+=("$pid")
sleep 0.5; kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?
[[ $rc == 42 ]] || fail "cpp unsupervised: exit $rc after SIGTERM, want 42"
[[ -z $(ls -A "$work" | grep -v '^cpp\(-datagrams\)\?$\|^python\(-datagrams\)\?$') ]] || fail "unsupervised runs wrote files: $(ls -A "$work")"
echo "ok: unsupervised: nothing written, SIGUSR1/SIGTERM -> exit 42"
