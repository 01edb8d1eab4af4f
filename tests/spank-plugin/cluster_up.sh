#!/usr/bin/env bash
# Fixture: a local Slurm cluster whose plugstack.conf loads the real spank_sigma.so with its site config.
source "$(dirname "$0")/lib.sh"
mkdir -p "$SIGMA_CLUSTER_DIR/etc"
# The files written here before `up` are the cluster's own: mark the directory as one sigma-cluster may manage.
: >"$SIGMA_CLUSTER_DIR/.sigma-cluster"
chmod 755 "$SIGMA_CLUSTER_DIR" "$SIGMA_CLUSTER_DIR/etc"
rm -rf "$STATE"  # a fresh cluster numbers its jobs from 1 again: no ledger or verdicts from an earlier one
reset_site
echo "required $SIGMA_SPANK_PLUGIN config=$SITE" >"$SIGMA_CLUSTER_DIR/etc/plugstack.sigma"
exec "$SIGMA_CLUSTER_SCRIPT" up "$SIGMA_CLUSTER_DIR" --nodes 4 --plugstack "$SIGMA_CLUSTER_DIR/etc/plugstack.sigma"
