#!/usr/bin/env bash
# packaging/prerm, run as dpkg runs it (DPKG_ROOT names the root it works on): `remove` is refused with exit 1
# and a line naming the file and line while /etc/slurm/plugstack.conf, a plugstack.conf.d/*.conf file or the
# file slurm.conf's PlugStackConfig names loads spank_sigma.so outside a comment; a commented-out line, another
# plugin, no Slurm config at all, and every other prerm action (upgrade, failed-upgrade, deconfigure) pass.
set -euo pipefail
: "${SIGMA_PRERM:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
line="required /usr/lib/x86_64-linux-gnu/slurm-wlm/spank_sigma.so config=/etc/sigma/site.yaml"

# case NAME EXPECTED_STATUS EXPECTED_LINE ACTION...: a fresh root set up by the caller's $setup, then the prerm.
case_() {
  local name=$1 want=$2 want_line=$3 root=$work/$1 status=0
  shift 3
  mkdir -p "$root/etc/slurm"
  (cd "$root/etc/slurm" && eval "$setup")
  DPKG_ROOT=$root sh "$SIGMA_PRERM" "$@" >"$root.out" 2>&1 || status=$?
  cat "$root.out"
  [ "$status" -eq "$want" ] || fail "$name: prerm $* exited $status, expected $want"
  [ -z "$want_line" ] || grep -qxF "$want_line" "$root.out" || fail "$name: no line \"$want_line\""
  pass "$name: prerm $* exits $status"
}

setup="printf '# sigma\n%s\n' '$line' >plugstack.conf"
case_ required 1 "sigma: $work/required/etc/slurm/plugstack.conf line 2 still loads the SPANK plugin: $line" remove
grep -q "^sigma: not removed: delete (or comment out) that line and restart slurmd" "$work/required.out" ||
  fail "required: no line saying what to do"
case_ upgrade 0 "" upgrade 0.2.0
case_ failed-upgrade 0 "" failed-upgrade 0.2.0
case_ deconfigure 0 "" deconfigure in-favour other 1.0

setup="printf '  # %s\n#%s\n' '$line' '$line' >plugstack.conf"
case_ commented 0 "" remove
setup="printf 'optional /usr/lib/x86_64-linux-gnu/slurm-wlm/other.so # was spank_sigma.so\n' >plugstack.conf"
case_ other-plugin 0 "" remove
setup=":"
case_ no-slurm-config 0 "" remove

setup="mkdir plugstack.conf.d && printf 'include /etc/slurm/plugstack.conf.d/*.conf\n' >plugstack.conf &&
  printf '\n\n%s\n' '$line' >plugstack.conf.d/sigma.conf && printf '# %s\n' '$line' >plugstack.conf.d/old.conf"
case_ conf.d 1 "sigma: $work/conf.d/etc/slurm/plugstack.conf.d/sigma.conf line 3 still loads the SPANK plugin: $line" remove

setup="printf 'ClusterName=c\n  plugstackconfig = /etc/slurm/site-plugstack.conf # sigma\n' >slurm.conf &&
  printf '%s\n' '$line' >site-plugstack.conf"
case_ PlugStackConfig 1 "sigma: $work/PlugStackConfig/etc/slurm/site-plugstack.conf line 1 still loads the SPANK plugin: $line" remove
