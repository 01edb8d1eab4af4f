#!/usr/bin/env bash
# `cmake --install` of this build tree into an empty prefix (INSTALL.md, "From source"; the demo installs the
# same way) succeeds, and the prefix holds every path INSTALL.md's table of installed files lists and every
# binary README.md and INSTALL.md name. A target that an install rule names but a build left out, or a binary the
# docs promise that no rule installs, fails here instead of in a site's (or the demo's) install step.
# Usage: source_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail -f  # -f: no globbing of the words split out of the docs
build=$1
source=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT

fail() { echo "source_install: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$prefix.log" 2>&1 || { cat "$prefix.log" >&2; rm -f "$prefix.log";
  fail "cmake --install $build --prefix $prefix failed (its output above)"; }
rm -f "$prefix.log"

# INSTALL.md's table rows start with "| `/": each backticked absolute path (the package's layout) maps to the
# prefix (/usr/X -> PREFIX/X, /etc/X -> PREFIX/etc/X). A directory row's bare names (`example.yaml`) are files in
# it. /var/lib/sigma is created by the package or by the admin (INSTALL.md), never by cmake --install.
checked=0
check_path() {  # check_path PACKAGE_PATH
  local path=$1 local_path
  case "$path" in
    /var/lib/sigma*) return ;;
    /usr/*) local_path=$prefix/${path#/usr/} ;;
    /etc/*) local_path=$prefix$path ;;
    *) fail "INSTALL.md names $path, which is neither under /usr nor /etc" ;;
  esac
  [ -e "$local_path" ] || fail "INSTALL.md lists $path, but cmake --install made no ${local_path#"$prefix"/} under the prefix"
  checked=$((checked + 1))
}
while IFS= read -r row; do
  dir=""
  for token in $(grep -o '`[^`]*`' <<<"$row" | tr -d '`' | tr ' ' '\n'); do
    case "$token" in
      /*/) check_path "$token"; dir=$token ;;
      /*) check_path "$token" ;;
      *.yaml | *.sbatch) [ -n "$dir" ] && check_path "$dir$token" ;;
    esac
  done
done < <(grep '^| `/' "$source/INSTALL.md")
[ "$checked" -ge 10 ] || fail "only $checked paths found in INSTALL.md's table of installed files; was it reworded?"

# Every sigma binary the front pages name in backticks is installed and executable. sigma-nhc is the one-line
# HealthCheckProgram wrapper INSTALL.md tells the admin to write, not something sigma installs.
# A name counts where it stands alone or starts a command (`sigma-ledger show`), not as the start of a path
# (`sigma-runs/<job id>`, `sigma-validate-<job id>`).
binaries=$(grep -oh '`sigma-[a-z][a-z]*[` ]' "$source/README.md" "$source/INSTALL.md" | tr -d '` ' | sort -u |
  grep -vx 'sigma-nhc')
[ -n "$binaries" ] || fail "README.md and INSTALL.md name no sigma binary in backticks; was the text reworded?"
for binary in $binaries; do
  [ -x "$prefix/bin/$binary" ] || fail "README.md or INSTALL.md names \`$binary\`, but cmake --install made no executable bin/$binary"
done
echo "source_install: cmake --install made all $checked listed paths and the binaries $(echo $binaries)"
