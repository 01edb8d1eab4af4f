#!/usr/bin/env bash
# trainer/MODEL.md is exact: an implementation written from it alone (model_reference.py, numpy) reproduces
# sigma-train's initial weights, data order, losses, gradient norms, learning rates, weights and AdamW moments
# bit for bit when its matmuls are the same sgemm calls, and within MODEL.md's tolerances when its matmuls sum
# in double instead.
# usage: model_reference_test.sh SIGMA_TRAIN SGEMM_LIBRARY RANKS [MPIRUN]
#   SGEMM_LIBRARY: libsigma_trainer_sgemm.so, the trainer's sgemm built alone for the reference
#   RANKS 1: one process, 2 threads (matmuls cut into calls per thread), ep 1, bitwise and float64-matmul runs
#   RANKS 2: mpirun -n 2 with 2 threads each (the experts' rows cut into per-thread segments), experts split
#            (ep 2) and replicated (ep 1), bitwise
set -u
bin=$1
sgemm=$2
ranks=$3
mpirun=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

[[ -f $sgemm ]] || { echo "FAIL: no sgemm library at $sgemm"; exit 1; }

"$bin" prepare --output "$work/t.tok" "$here/data/GPL-3.txt" >/dev/null || { echo "FAIL: prepare"; exit 1; }

# A model small enough for a Python reference, with everything MODEL.md describes switched on: two layers
# with different top-k, capacity drops, z-loss, warm-up then cosine, clipping (the norm is ~0.9 at step 1).
write_config() {  # FILE THREADS D T
  cat >"$1" <<YAML
data: $work/t.tok
vocab_size: 256
d_model: $3
n_layers: 2
n_heads: 2
seq_len: $4
n_experts: 4
d_ff: 32
top_k: [2, 1]
capacity_factor: 1.25
aux_loss_coef: 0.01
z_loss_coef: 0.001
rope_theta: 10000
init_std: 0.02
global_batch: 4
steps: 3
lr: 0.003
min_lr: 0.0003
warmup_steps: 2
weight_decay: 0.1
beta1: 0.9
beta2: 0.95
eps: 1e-8
grad_clip: 0.5
seed: 4321
threads: $2
peak_gflops: 1
YAML
}

# check NAME LAUNCH... -- REFERENCE-ARGS...: sigma-train with 0 steps (the initial weights) and 3 steps into
# fresh checkpoint directories, then the reference on them.
check() {
  local name=$1
  shift
  local launch=()
  while [[ $1 != -- ]]; do launch+=("$1"); shift; done
  shift
  local dir="$work/$name"
  mkdir -p "$dir"
  if ! "${launch[@]}" "$bin" train --config "$dir/run.yaml" --steps 0 --ckpt-dir "$dir/init" >"$dir/out" 2>&1 ||
     ! "${launch[@]}" "$bin" train --config "$dir/run.yaml" --log-jsonl "$dir/log.jsonl" --ckpt-dir "$dir/final" \
       >>"$dir/out" 2>&1; then
    fail "$name: sigma-train"; sed 's/^/    /' "$dir/out" | tail -5; return
  fi
  if /usr/bin/python3 "$here/model_reference.py" --config "$dir/run.yaml" --data "$work/t.tok" \
       --init-ckpt "$dir/init" --final-ckpt "$dir/final" --log "$dir/log.jsonl" "$@" >"$dir/ref" 2>&1; then
    echo "ok: $name: $(cat "$dir/ref")"
  else
    fail "$name: the reference differs"; sed 's/^/    /' "$dir/ref" | tail -12
  fi
}

if [[ $ranks == 1 ]]; then
  mkdir -p "$work/threads2" "$work/float64"
  # d_model 64, seq_len 96: a full and a partial attention query block; the q/k/v batch, the head and the
  # experts' rows are split over the 2 threads.
  write_config "$work/threads2/run.yaml" 2 64 96
  check threads2 env -- --sgemm "sigma:$sgemm"
  write_config "$work/float64/run.yaml" 1 16 16
  check float64 env -- --sgemm float64
else
  mpi=("$mpirun" -n 2 --oversubscribe --bind-to none)
  for ep in 2 1; do
    mkdir -p "$work/ep$ep"
    write_config "$work/ep$ep/run.yaml" 2 64 96
    echo "ep_size: $ep" >>"$work/ep$ep/run.yaml"
    check "ep$ep" "${mpi[@]}" -- --world 2 --ep "$ep" --sgemm "sigma:$sgemm"
  done
fi

# The comparison must be able to fail: a reference with the RMSNorm epsilon one part in 10^4 off disagrees.
if [[ $ranks == 1 ]]; then
  sed 's/^EPS_NORM = F32(1e-5)$/EPS_NORM = F32(1.0001e-5)/' "$here/model_reference.py" >"$work/off.py"
  if ! grep -q 'F32(1.0001e-5)' "$work/off.py"; then
    fail "could not make the off-by-epsilon reference"
  elif /usr/bin/python3 "$work/off.py" --config "$work/threads2/run.yaml" --data "$work/t.tok" \
       --init-ckpt "$work/threads2/init" --final-ckpt "$work/threads2/final" --log "$work/threads2/log.jsonl" \
       --sgemm "sigma:$sgemm" >"$work/off.out" 2>&1; then
    fail "a reference with a different RMSNorm epsilon still agreed"
  else
    echo "ok: a reference with a different RMSNorm epsilon disagrees: $(tail -1 "$work/off.out")"
  fi
fi

[[ $failures -eq 0 ]] && echo "all passed" || echo "$failures failure(s)"
exit $((failures != 0))
