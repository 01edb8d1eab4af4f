#!/usr/bin/env bash
# `cpack -G DEB` makes a package with the binaries, the plugin in Debian Slurm's plugin directory, the site config
# as a conffile under /etc/sigma, the templates under /usr/share/sigma and Depends this machine satisfies. It is
# installed into a clean root with dpkg --root; a local cluster loads the plugin from there and runs the
# installed moe-train.sbatch with the installed binaries and config; reinstalling keeps the admin's edits to the
# conffile; removing it is refused while the root's plugstack.conf loads the plugin, and once that line is
# commented out takes everything but the conffile, purging takes that too. The package is built under umask 002
# and still has Debian's modes (directories 0755, files 0644 or 0755, the prerm 0755).
source "$(dirname "$0")/../cluster/lib.sh"
: "${SIGMA_BUILD_DIR:?}"

work=$(mktemp -d "$SIGMA_BUILD_DIR/package-test.XXXXXX")
chmod 755 "$work"
cluster_up=no
finish() {
  [ "$cluster_up" = no ] || "$SIGMA_CLUSTER_SCRIPT" down "$SIGMA_CLUSTER_DIR"
  rm -rf "$work"
}
trap finish EXIT

# A builder whose umask lets the group write: the package's modes must not follow it.
(umask 002 && cd "$work" && cpack -G DEB --config "$SIGMA_BUILD_DIR/CPackConfig.cmake" -B "$work/pkg") | tail -2
deb=$(echo "$work"/pkg/sigma_*.deb)
[ -f "$deb" ] || fail "cpack made no sigma_*.deb in $work/pkg"
dpkg-deb -c "$deb" | awk '{ print $6 }' >"$work/contents"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for path in ./usr/bin/sigma-config ./usr/bin/sigma-ledger ./usr/bin/sigma-healthcheck ./usr/bin/sigma-launch \
  ./usr/bin/sigma-train ./usr/bin/sigma-ckpt "./usr/lib/$multiarch/slurm-wlm/spank_sigma.so" ./etc/sigma/site.yaml \
  ./usr/share/sigma/sbatch-templates/moe-train.sbatch ./usr/share/sigma/sbatch-templates/validate-nodes.sbatch \
  ./usr/share/sigma/sbatch-templates/calibrate.sbatch ./usr/share/sigma/sbatch-templates/torch-train.sbatch \
  ./usr/share/sigma/examples/torch_train.py ./usr/share/sigma/site-configs/gpu-cluster.yaml \
  ./usr/share/sigma/site-configs/taxonomy.yaml ./usr/include/sigma/client.hpp \
  ./usr/lib/python3/dist-packages/sigma/__init__.py ./var/lib/sigma/; do
  grep -qx -- "$path" "$work/contents" || fail "the package has no $path"
done
! grep -q "^./usr/etc\|^./usr/local" "$work/contents" || fail "the package installs under /usr/etc or /usr/local"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/sigma/site.yaml || fail "site.yaml is not a conffile"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libslurm libhdf5-openmpi libopenmpi libyaml-cpp libopenblas slurm-client slurm-wlm-basic-plugins openmpi-bin; do
  [[ "$depends" == *"$lib"* ]] || fail "Depends lacks $lib"
done
# Every dependency (the first of each alternative) is a package installed on this machine, where sigma was built.
for dep in $(tr ',' '\n' <<<"$depends" | sed 's/|.*//; s/(.*//' | xargs); do
  dpkg-query -W -f='${Status}\n' "$dep" | grep -qx "install ok installed" || fail "dependency $dep is not installed here"
done
[[ "$depends" != *torch* ]] || fail "Depends names PyTorch, which only the example needs (Suggests)"
[ "$(dpkg-deb -f "$deb" Suggests)" = python3-torch ] || fail "Suggests is not python3-torch"
pass "package contents, conffile and Depends ($(wc -l <"$work/contents") paths)"

dpkg-deb -c "$deb" | awk '{ print $1, $6 }' >"$work/modes"
for entry in "drwxr-xr-x ./etc/sigma/" "drwxr-xr-x ./var/lib/sigma/" "-rw-r--r-- ./etc/sigma/site.yaml" \
  "-rwxr-xr-x ./usr/bin/sigma-healthcheck" "-rwxr-xr-x ./usr/share/sigma/sbatch-templates/validate-nodes.sbatch"; do
  grep -qxF -- "$entry" "$work/modes" || fail "the package has no \"$entry\": $(grep -F "${entry#* }" "$work/modes")"
done
odd=$(grep -vE '^(drwxr-xr-x ./.*/|-rw-r--r-- ./.*[^/]|-rwxr-xr-x ./.*[^/])$' "$work/modes" || true)
[ -z "$odd" ] || fail "built under umask 002, the package has other modes than 0755 and 0644: $odd"
dpkg-deb --ctrl-tarfile "$deb" | tar -tv ./prerm | grep -q '^-rwxr-xr-x ' || fail "the package has no prerm of mode 0755"
pass "built under umask 002: directories 0755, files 0644 or 0755, prerm 0755"

# A clean root of its own: dpkg's database and nothing else. Its Depends are this machine's packages, which
# that root's empty database does not list, hence --force-depends. The maintainer scripts run here, not chrooted
# into that root (it has no shell), with DPKG_ROOT naming it.
root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
dpkg_root() { dpkg --root="$root" --force-script-chrootless "$@"; }
dpkg_root --force-depends -i "$deb"
dpkg --root="$root" -s sigma | grep -qx "Status: install ok installed" || fail "dpkg does not list sigma as installed"

# The admin's edit of the conffile: this root's paths in place of /var/lib/sigma and /usr/bin.
site=$root/etc/sigma/site.yaml
sed -i -e "s|/var/lib/sigma|$root/var/lib/sigma|g" -e "s|/usr/bin/sigma-healthcheck|$root/usr/bin/sigma-healthcheck|" \
  -e "s|/var/lib/prometheus/node-exporter|$root/var/lib/sigma|" "$site"
"$root/usr/bin/sigma-config" check "$site"
plugstack=$root/etc/slurm/plugstack.conf
mkdir -p "$root/etc/slurm"
echo "required $root/usr/lib/$multiarch/slurm-wlm/spank_sigma.so config=$site" >"$plugstack"
cluster_up=yes
"$SIGMA_CLUSTER_SCRIPT" up "$SIGMA_CLUSTER_DIR" --nodes 4 --plugstack "$plugstack"

"$root/usr/bin/sigma-train" prepare --output "$work/licences.tok" /usr/share/common-licenses/* >/dev/null
printf 'data: %s\nd_model: 32\nn_layers: 1\nn_heads: 2\nseq_len: 32\nn_experts: 4\nd_ff: 32\ntop_k: 2\nglobal_batch: 8\nsteps: 100\nlog_every: 50\n' \
  "$work/licences.tok" >"$work/run.yaml"
export PATH=$root/usr/bin:$PATH SIGMA_SITE_CONFIG=$site SIGMA_TRAIN_CONFIG=$work/run.yaml \
  SIGMA_TRAIN_ARGS="--ep-size 2 --threads 1" SIGMA_CKPT_EVERY=50
job=$(cd "$work" && on_cluster sbatch --parsable "$root/usr/share/sigma/sbatch-templates/moe-train.sbatch")
ended() { job_field "$job" JobState | grep -qxE 'COMPLETED|FAILED|CANCELLED|TIMEOUT'; }
wait_until 240 "job $job to end" ended
cat "$work/moe-train-$job.out"
[ "$(job_field "$job" JobState)" = COMPLETED ] || fail "job $job ended $(job_field "$job" JobState)"
prologs=$("$root/usr/bin/sigma-ledger" show "$root/var/lib/sigma/events.jsonl" --job "$job" --event job_prolog | wc -l)
[ "$prologs" -ge 3 ] || fail "$prologs job_prolog events in the installed ledger, expected one per node (3)"
"$root/usr/bin/sigma-ckpt" verify "$work/sigma-runs/$job/ckpt" || fail "the job's checkpoints do not verify"
"$SIGMA_CLUSTER_SCRIPT" down "$SIGMA_CLUSTER_DIR"
cluster_up=no
pass "the installed plugin burned in 3 nodes and the installed template trained job $job to the end"

# Upgrade (the same package again), with plugstack.conf still loading the plugin: the admin's edited conffile
# is kept.
dpkg_root --force-depends -i "$deb"
grep -q "state_dir: $root/var/lib/sigma" "$site" || fail "reinstalling replaced the admin's site.yaml"
# Remove while plugstack.conf loads the plugin: refused, saying which line; nothing is removed.
! dpkg_root --remove sigma 2>"$work/remove.err" || fail "dpkg --remove removed sigma while $plugstack loads it"
cat "$work/remove.err"
grep -qF "sigma: $plugstack line 1 still loads the SPANK plugin" "$work/remove.err" || fail "the refusal does not name $plugstack line 1"
[ -f "$root/usr/lib/$multiarch/slurm-wlm/spank_sigma.so" ] || fail "the refused removal deleted spank_sigma.so"
dpkg --root="$root" -s sigma | grep -q "^Status: .* installed$" || fail "sigma is not installed after the refused removal"
# The admin comments the line out (and restarts slurmd). Remove: the binaries, plugin and templates go, the
# conffile stays; purge: the conffile goes too.
sed -i 's/^required/# required/' "$plugstack"
dpkg_root --remove sigma
for path in usr/bin/sigma-launch "usr/lib/$multiarch/slurm-wlm/spank_sigma.so" usr/share/sigma/sbatch-templates; do
  [ ! -e "$root/$path" ] || fail "$path is still there after dpkg --remove"
done
[ -f "$site" ] || fail "dpkg --remove deleted the conffile"
dpkg_root --purge sigma
[ ! -e "$root/etc/sigma" ] || fail "/etc/sigma is still there after dpkg --purge"
# What sigma wrote while running (ledger, validated-node cache, metrics) stays in /var/lib/sigma, as with any
# package's data, and the admin's own Slurm config in /etc/slurm; nothing else.
left=$(cd "$root" && find . \( -path ./var/lib/dpkg -o -path ./var/lib/sigma -o -path ./etc/slurm \) -prune -o -type f -print)
[ -z "$left" ] || fail "files left after purge: $left"
pass "reinstall kept the edited conffile; remove refused while plugstack.conf loads the plugin, then kept only the conffile; purge left only what sigma wrote in /var/lib/sigma"
