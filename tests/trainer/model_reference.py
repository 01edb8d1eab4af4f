"""An independent implementation of sigma-train written from trainer/MODEL.md alone (numpy, float32 spelled
out operation by operation), checked against what sigma-train wrote: the initial weights, the loss parts, the
gradient norm and the learning rate of every step, and the weights and AdamW moments after the last step.

  model_reference.py --config run.yaml --data t.tok --init-ckpt DIR0 --final-ckpt DIR --log log.jsonl
                     [--world W --ep P] --sgemm sigma:/path/libsigma_trainer_sgemm.so | --sgemm float64

--sgemm sigma:LIB makes every matmul the same single-threaded call MODEL.md names ("Matmuls") to LIB's
sigma_trainer_sgemm (sigma's own sgemm, built alone for this test), so everything must agree bit for bit.
--sgemm float64 sums each matmul's products in double and rounds once: another summation order than the
sgemm's, so the losses, gradient norms and weights are checked to the tolerances MODEL.md states ("What is
reproduced"). Exits 0 with one summary line when everything agrees, 1 naming the differences otherwise.
"""
import argparse
import ctypes
import json
import math
import sys

import h5py
import numpy as np

F32 = np.float32
MASK = (1 << 64) - 1

# ---------------------------------------------------------------------------------------------------------
# The C library's functions (MODEL.md "Numerics": exp/log of a float are expf/logf, of a double exp/log).

_libm = ctypes.CDLL("libm.so.6")
for _name, _type in (("expf", ctypes.c_float), ("logf", ctypes.c_float)):
    getattr(_libm, _name).restype = _type
    getattr(_libm, _name).argtypes = [_type]
_expf_vec = np.frompyfunc(_libm.expf, 1, 1)


def expf(x):
    """expf element-wise on a float32 array."""
    x = np.asarray(x, dtype=F32)
    return np.asarray(_expf_vec(x.astype(np.float64)), dtype=F32).reshape(x.shape)


def logf(x):
    return F32(_libm.logf(float(x)))


_exp_vec = np.frompyfunc(math.exp, 1, 1)


def exp_d(x):
    """exp (double) element-wise on a float64 array."""
    x = np.asarray(x, dtype=np.float64)
    return np.asarray(_exp_vec(x), dtype=np.float64).reshape(x.shape)


# ---------------------------------------------------------------------------------------------------------
# Matmuls (MODEL.md "Matmuls"): C = alpha op(A) op(B) + beta C, A and B given as stored (op = transpose when
# the flag is set).

class Sgemm:
    def __init__(self, spec, threads):
        self.threads = threads
        self.lib = None
        assert spec == "float64" or spec.startswith("sigma:"), f"--sgemm {spec}: expected sigma:LIBRARY or float64"
        if spec.startswith("sigma:"):
            self.lib = ctypes.CDLL(spec[6:])
            p = ctypes.POINTER(ctypes.c_float)
            i, f = ctypes.c_int, ctypes.c_float
            self.lib.sigma_trainer_sgemm.restype = None
            self.lib.sigma_trainer_sgemm.argtypes = [i, i, i, i, i, f, p, i, p, i, f, p, i]
            self.lib.openblas_set_num_threads(1)

    def call(self, ta, tb, A, B, C, alpha=1.0, beta=0.0):
        """One call of sigma's sgemm on whole matrices; C (float32, C-contiguous) is updated in place."""
        M, N = C.shape
        K = A.shape[0] if ta else A.shape[1]
        if M == 0 or N == 0:
            return
        if self.lib is None:  # products summed in double, then rounded: a different order than any sgemm
            a = (A.T if ta else A).astype(np.float64)
            b = (B.T if tb else B).astype(np.float64)
            prod = np.matmul(a, b).astype(F32)
            C[...] = F32(alpha) * prod + F32(beta) * C if beta != 0 else F32(alpha) * prod
            return
        A = np.ascontiguousarray(A, dtype=F32)
        B = np.ascontiguousarray(B, dtype=F32)
        assert C.flags["C_CONTIGUOUS"] and C.dtype == F32
        p = ctypes.POINTER(ctypes.c_float)
        self.lib.sigma_trainer_sgemm(int(ta), int(tb), M, N, K, alpha,
                                     A.ctypes.data_as(p), A.shape[1] if A.size else 1,
                                     B.ctypes.data_as(p), B.shape[1] if B.size else 1, beta,
                                     C.ctypes.data_as(p), N)

    def batch(self, products):
        """The trainer's gemm_batch: independent products (ta, tb, A, B, C, beta), alpha 1, each cut into 16-row
        (or column) blocks along the larger of M and N, the blocks dealt to `chunks` runs of about equal flops by
        where each block's middle flop falls; consecutive blocks of one product in one chunk are one call."""
        blocks, total = [], 0.0
        for p, (ta, tb, A, B, C, beta) in enumerate(products):
            M, N = C.shape
            K = A.shape[0] if ta else A.shape[1]
            if M == 0 or N == 0:
                continue
            along, other = (M, N) if M >= N else (N, M)
            for lo in range(0, along, 16):
                hi = min(along, lo + 16)
                flops = 2.0 * (hi - lo) * other * max(K, 1)
                blocks.append((p, lo, hi, total + flops / 2))
                total += flops
        chunks = max(1, min(int(total / (1 << 22)), self.threads))
        owner = [min(chunks - 1, int(mid * chunks / total)) for (_, _, _, mid) in blocks]
        i = 0
        while i < len(blocks):
            j = i + 1
            while j < len(blocks) and blocks[j][0] == blocks[i][0] and owner[j] == owner[i]:
                j += 1
            self.run_block(products[blocks[i][0]], blocks[i][1], blocks[j - 1][2])
            i = j

    def run_block(self, product, lo, hi):
        """Rows [lo, hi) of C (M >= N) or its columns, as one call; with K = 0, C = beta C without the BLAS."""
        ta, tb, A, B, C, beta = product
        M, N = C.shape
        K = A.shape[0] if ta else A.shape[1]
        rows = M >= N
        view = C[lo:hi] if rows else C[:, lo:hi]
        if K == 0:
            if beta != 1.0:
                view *= F32(beta)
            return
        part = np.ascontiguousarray(view)
        if rows:
            self.call(ta, tb, A[:, lo:hi] if ta else A[lo:hi], B, part, 1.0, beta)
        else:
            self.call(ta, tb, A, B[lo:hi] if tb else B[:, lo:hi], part, 1.0, beta)
        view[...] = part

    # The three shapes the trainer uses, as products for batch and alone (a batch of one).
    @staticmethod
    def nn_of(A, B, C, beta):  # C[M,N] = A[M,K] B[K,N] + beta C
        return (False, False, A, B, C, beta)

    @staticmethod
    def nt_of(A, B, C, beta):  # C[M,N] = A[M,K] B[N,K]^T + beta C
        return (False, True, A, B, C, beta)

    @staticmethod
    def tn_of(A, B, C, beta):  # C[M,N] = A[K,M]^T B[K,N] + beta C
        return (True, False, A, B, C, beta)

    def nn(self, A, B, C, beta):
        self.batch([self.nn_of(A, B, C, beta)])

    def nt(self, A, B, C, beta):
        self.batch([self.nt_of(A, B, C, beta)])

    def tn(self, A, B, C, beta):
        self.batch([self.tn_of(A, B, C, beta)])


def row_chunks(n, min_chunk, threads):
    """The trainer's parallel_for: [0, n) in min(threads, n // min_chunk) contiguous chunks (one when <= 1)."""
    chunks = min(threads, n // max(1, min_chunk))
    if chunks <= 1:
        return [(0, n)] if n > 0 else []
    return [(n * c // chunks, n * (c + 1) // chunks) for c in range(chunks)]


# ---------------------------------------------------------------------------------------------------------
# Config, parameters and init (MODEL.md "Sizes", "Parameters", "Init").

DEFAULTS = dict(vocab_size=256, d_model=64, n_layers=2, n_heads=4, seq_len=64, n_experts=4, d_ff=128, top_k=[2],
                capacity_factor=0.0, aux_loss_coef=0.01, z_loss_coef=0.0, rope_theta=10000.0, init_std=0.02,
                lr=3e-3, min_lr=3e-4, warmup_steps=10, weight_decay=0.1, beta1=0.9, beta2=0.95, eps=1e-8,
                grad_clip=1.0, global_batch=8, steps=100, seed=1234, threads=1)


def read_config(path):
    """The flat `key: value` run config the test writes (numbers, or a [a, b] list for top_k)."""
    c = dict(DEFAULTS)
    for line in open(path):
        line = line.split("#")[0].strip()
        if not line:
            continue
        key, value = (s.strip() for s in line.split(":", 1))
        if key not in DEFAULTS:
            continue
        if value.startswith("["):
            c[key] = [int(v) for v in value.strip("[]").split(",")]
        elif key == "top_k":
            c[key] = [int(value)]
        else:
            c[key] = type(DEFAULTS[key])(value)
    for key in ("capacity_factor", "aux_loss_coef", "z_loss_coef", "rope_theta", "init_std", "lr", "min_lr",
                "weight_decay", "beta1", "beta2", "eps", "grad_clip"):
        c[key] = F32(c[key])  # every real of the model and the optimizer is a float
    return c


def top_k_of(c, layer):
    return c["top_k"][0] if len(c["top_k"]) == 1 else c["top_k"][layer]


def param_specs(c):
    """(name, shape, expert) in arena order."""
    D, V, E, F = c["d_model"], c["vocab_size"], c["n_experts"], c["d_ff"]
    specs = [("embed", (V, D), False)]
    for l in range(c["n_layers"]):
        p = f"layers.{l}."
        specs += [(p + "attn_norm.weight", (D,), False), (p + "attn.wq", (D, D), False),
                  (p + "attn.wk", (D, D), False), (p + "attn.wv", (D, D), False), (p + "attn.wo", (D, D), False),
                  (p + "moe_norm.weight", (D,), False), (p + "moe.router", (D, E), False),
                  (p + "moe.experts.w1", (E, D, F), True), (p + "moe.experts.w3", (E, D, F), True),
                  (p + "moe.experts.w2", (E, F, D), True)]
    specs += [("final_norm.weight", (D,), False), ("lm_head", (D, V), False)]
    return specs


def name_hash(name):
    h = 1469598103934665603
    for b in name.encode():
        h = ((h ^ b) * 1099511628211) & MASK
    return h


def splitmix_next(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def normal_stream(seed, count, std):
    out = np.empty(count, dtype=F32)
    state = seed
    sigma = float(std)
    for i in range(count):
        state, a = splitmix_next(state)
        state, b = splitmix_next(state)
        u1 = ((a >> 11) + 0.5) * 2.0 ** -53
        u2 = (b >> 11) * 2.0 ** -53
        out[i] = F32(sigma * math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2))
    return out


def init_weights(c):
    w = {}
    two_l = F32(2.0) * F32(c["n_layers"])
    for name, shape, expert in param_specs(c):
        if len(shape) == 1:
            w[name] = np.ones(shape, dtype=F32)
            continue
        std = c["init_std"]
        if name.endswith(".attn.wo") or name.endswith(".experts.w2"):
            std = F32(std / F32(np.sqrt(two_l)))
        blocks = shape[0] if expert else 1
        per = int(np.prod(shape)) // blocks
        data = [normal_stream(c["seed"] ^ name_hash(name) ^ ((e * 0xD1B54A32D192ED03) & MASK), per, std)
                for e in range(blocks)]
        w[name] = np.concatenate(data).reshape(shape)
    return w


# ---------------------------------------------------------------------------------------------------------
# Data order (MODEL.md "Data order").

def read_tokens(path):
    raw = open(path, "rb").read()
    assert raw[:8] == b"SIGMATOK"
    width = int.from_bytes(raw[12:16], "little")
    count = int.from_bytes(raw[24:32], "little")
    return np.frombuffer(raw[32:32 + count * width], dtype="<u2" if width == 2 else "<u4").astype(np.int64)


def sequence_start(seed, n, count, T):
    z = (seed * 0x9E3779B97F4A7C15 + n + 0x632BE59BD9B4E019) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z ^= z >> 31
    return z % (count - T)


def rank_batch(c, tokens, position, rank, world):
    T, local = c["seq_len"], c["global_batch"] // world
    inputs, targets = [], []
    for i in range(local):
        o = sequence_start(c["seed"], position + rank * local + i, len(tokens), T)
        inputs.append(tokens[o:o + T])
        targets.append(tokens[o + 1:o + T + 1])
    return np.concatenate(inputs), np.concatenate(targets)


# ---------------------------------------------------------------------------------------------------------
# Kernels (MODEL.md "Numerics"): every float operation in the order written there.

EPS_NORM = F32(1e-5)


def rmsnorm_forward(x, g):
    N, D = x.shape
    ss = sum_lanes_rows((x * x).astype(F32))
    r = F32(1.0) / np.sqrt(ss / F32(D) + EPS_NORM)
    return (x * r[:, None]) * g[None, :], r


def rmsnorm_backward(dy, x, g, r, dx, dg):
    """dx += ...; dg += ... (rows in order)."""
    N, D = x.shape
    dyg = dy * g[None, :]
    dot = sum_lanes_rows((dyg * x).astype(F32)) / F32(D)
    dx += r[:, None] * (dyg - ((x * r[:, None]) * r[:, None]) * dot[:, None])
    contrib = (dy * x) * r[:, None]
    for n in range(N):
        dg += contrib[n]


def rope_table(T, hd, theta):
    half = hd // 2
    cos = np.empty((T, half), dtype=F32)
    sin = np.empty((T, half), dtype=F32)
    for p in range(T):
        for i in range(half):
            angle = p * math.pow(float(theta), -2.0 * i / hd)
            cos[p, i] = F32(math.cos(angle))
            sin[p, i] = F32(math.sin(angle))
    return cos, sin


def rope(x, H, hd, table, inverse):
    N = x.shape[0]
    cos, sin = table
    pos = np.arange(N) % cos.shape[0]
    v = x.reshape(N, H, hd // 2, 2)
    a, b = v[..., 0].copy(), v[..., 1].copy()
    c, s = cos[pos][:, None, :], sin[pos][:, None, :]
    if inverse:
        v[..., 0] = a * c + b * s
        v[..., 1] = b * c - a * s
    else:
        v[..., 0] = a * c - b * s
        v[..., 1] = a * s + b * c


# ---------------------------------------------------------------------------------------------------------
# exp_fast and the 8-lane sums (MODEL.md "Numerics").

_U32 = np.uint32
_K_ROUND = F32(12582912.0)  # 1.5 * 2^23
_EXP_P = [F32(v) for v in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                           1.6666665459e-1, 5.0000001201e-1)]


def exp_fast(x):
    """The trainer's exp_fast element-wise on a float32 array: every operation a float32 one, in its order."""
    x = np.asarray(x, dtype=F32)
    with np.errstate(all="ignore"):
        c = np.where(x < F32(-87.0), F32(-87.0), np.where(x > F32(88.0), F32(88.0), x)).astype(F32)
        t = c * F32(1.44269504088896341) + _K_ROUND
        n = t - _K_ROUND
        r = (c - n * F32(0.693359375)) - n * F32(-2.12194440e-4)
        p = np.full_like(r, _EXP_P[0])
        for coef in _EXP_P[1:]:
            p = p * r + coef
        p = p * r * r + r + F32(1.0)
        biased = (t.view(_U32) - _K_ROUND.view(_U32) + _U32(127)).astype(_U32)
        e = p * (biased << _U32(23)).view(F32)
        return np.where(x < F32(-87.0), F32(0.0), np.where(x > F32(88.0), F32(np.inf), e)).astype(F32)


def sum_lanes_rows(a):
    """The 8-lane sum of every row of a matrix, in its dtype (float32, or float64 for ssq): element j of each
    full group of 8 into lane j, the tail into lane 0, then ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))."""
    n = a.shape[1]
    full = n - n % 8
    lane = np.zeros((a.shape[0], 8), dtype=a.dtype)
    for j in range(0, full, 8):
        lane = lane + a[:, j:j + 8]
    for j in range(full, n):
        lane[:, 0] = lane[:, 0] + a[:, j]
    return ((lane[:, 0] + lane[:, 1]) + (lane[:, 2] + lane[:, 3])) + ((lane[:, 4] + lane[:, 5]) + (lane[:, 6] + lane[:, 7]))


def sum_lanes(a):
    return a.dtype.type(sum_lanes_rows(a.reshape(1, -1))[0])


def dot_lanes(a, b):
    return sum_lanes((a * b).astype(F32))  # each product rounded, then summed as sum_lanes


# ---------------------------------------------------------------------------------------------------------
# Attention (MODEL.md "Attention"): per (sequence, head), queries in blocks of 64 rows.

Q_BLOCK = 64


def attention_forward(gemm, q, k, v, Bl, T, H, hd):
    """Returns the output and each (sequence, head)'s per-query log-sum-exp."""
    scale = F32(1.0) / np.sqrt(F32(hd))
    out = np.zeros_like(q)
    lses = {}
    for b in range(Bl):
        for h in range(H):
            cols = slice(h * hd, (h + 1) * hd)
            Q, K_, V_ = (x[b * T:(b + 1) * T, cols] for x in (q, k, v))
            lse = np.zeros(T, dtype=F32)
            for q0 in range(0, T, Q_BLOCK):
                rows = min(Q_BLOCK, T - q0)
                keys = q0 + rows
                S = np.zeros((rows, keys), dtype=F32)
                gemm.call(False, True, Q[q0:keys], K_[:keys], S)
                for i in range(rows):
                    last = q0 + i
                    S[i, :last + 1] = S[i, :last + 1] * scale
                    row = S[i, :last + 1]
                    mx = row.max()  # any order: MODEL.md "Functions"
                    e = exp_fast(row - mx)
                    total = sum_lanes(e)
                    S[i, :last + 1] = e * (F32(1.0) / total)
                    S[i, last + 1:] = 0
                    lse[last] = F32(mx + logf(total))
                o = np.zeros((rows, hd), dtype=F32)
                gemm.call(False, False, S, V_[:keys], o)
                out[b * T + q0:b * T + keys, cols] = o
            lses[b, h] = lse
    return out, lses


def attention_backward(gemm, dout, q, k, v, lses, Bl, T, H, hd):
    scale = F32(1.0) / np.sqrt(F32(hd))
    dq, dk, dv = (np.zeros_like(q) for _ in range(3))
    for b in range(Bl):
        for h in range(H):
            cols = slice(h * hd, (h + 1) * hd)
            Q, K_, V_, dO = (x[b * T:(b + 1) * T, cols] for x in (q, k, v, dout))
            lse = lses[b, h]
            dK = np.zeros((T, hd), dtype=F32)
            dV = np.zeros((T, hd), dtype=F32)
            for q0 in range(0, T, Q_BLOCK):
                rows = min(Q_BLOCK, T - q0)
                keys = q0 + rows
                P = np.zeros((rows, keys), dtype=F32)
                gemm.call(False, True, Q[q0:keys], K_[:keys], P)
                dS = np.zeros((rows, keys), dtype=F32)
                gemm.call(False, True, dO[q0:keys], V_[:keys], dS)
                for i in range(rows):
                    last = q0 + i
                    P[i, :last + 1] = exp_fast(P[i, :last + 1] * scale - lse[last])
                    dot = dot_lanes(P[i, :last + 1], dS[i, :last + 1])
                    dS[i, :last + 1] = P[i, :last + 1] * (dS[i, :last + 1] - dot) * scale
                    P[i, last + 1:] = 0
                    dS[i, last + 1:] = 0
                part = np.ascontiguousarray(dV[:keys])
                gemm.call(True, False, P, dO[q0:keys], part, 1.0, 1.0)
                dV[:keys] = part
                o = np.zeros((rows, hd), dtype=F32)
                gemm.call(False, False, dS, K_[:keys], o)
                dq[b * T + q0:b * T + keys, cols] = o
                part = np.ascontiguousarray(dK[:keys])
                gemm.call(True, False, dS, Q[q0:keys], part, 1.0, 1.0)
                dK[:keys] = part
            dk[b * T:(b + 1) * T, cols] = dK
            dv[b * T:(b + 1) * T, cols] = dV
    return dq, dk, dv


def sigmoid(g):
    return F32(1.0) / (F32(1.0) + exp_fast(-g))



# ---------------------------------------------------------------------------------------------------------
# The simulated ranks.

class Rank:
    def __init__(self, rank, ep, n_experts):
        self.rank, self.ep_rank, self.group = rank, rank % ep, rank // ep
        self.E_local = n_experts // ep
        self.first = self.ep_rank * self.E_local


class Model:
    def __init__(self, c, world, ep, gemm):
        self.c, self.W, self.P, self.gemm = c, world, ep, gemm
        self.D, self.H, self.T, self.E, self.F = c["d_model"], c["n_heads"], c["seq_len"], c["n_experts"], c["d_ff"]
        self.hd = self.D // self.H
        self.Bl = c["global_batch"] // world
        self.N = self.Bl * self.T
        self.Ng = float(c["global_batch"] * self.T)
        self.ranks = [Rank(r, ep, c["n_experts"]) for r in range(world)]
        self.rope = rope_table(self.T, self.hd, c["rope_theta"])

    def local_w(self, w, r, name):
        """This rank's slice: an expert tensor's block of experts, a dense tensor whole."""
        if ".experts." in name:
            rk = self.ranks[r]
            return w[name][rk.first:rk.first + rk.E_local]
        return w[name]

    # --- MoE ------------------------------------------------------------------------------------------
    def route(self, l, st, x, router):
        N, E, k = self.N, self.E, top_k_of(self.c, l)
        logits = np.zeros((N, E), dtype=F32)
        for d in range(self.D):  # a sequential sum over d, each product rounded (not an sgemm)
            logits = logits + x[:, d:d + 1] * router[d][None, :]
        probs = np.zeros_like(logits)
        lse = np.zeros(N, dtype=F32)
        choice = np.zeros((N, k), dtype=np.int64)
        weight = np.zeros((N, k), dtype=F32)
        chosen = np.zeros(N, dtype=F32)
        for t in range(N):
            z = logits[t]
            mx = z.max()
            e = expf(z - mx)
            total = F32(0)
            for j in range(E):
                total = F32(total + e[j])
            probs[t] = e / total
            lse[t] = F32(mx + logf(total))
            order = sorted(range(E), key=lambda j: (-float(probs[t, j]), j))[:k]
            s = F32(0)
            for j in order:
                s = F32(s + probs[t, j])
            chosen[t] = s
            choice[t] = order
            weight[t] = probs[t, order] / s
        st.update(logits=logits, probs=probs, lse=lse, choice=choice, weight=weight, chosen=chosen)
        st["selected"] = np.bincount(choice.ravel(), minlength=E).astype(np.int64)
        cf = float(self.c["capacity_factor"])
        cap = math.ceil(cf * float(N) * k / E) if cf > 0 else None
        kept = np.zeros(E, dtype=np.int64)
        keep = np.zeros((N, k), dtype=bool)
        for t in range(N):
            for j in range(k):
                e = choice[t, j]
                if cap is None or kept[e] < cap:
                    keep[t, j] = True
                    kept[e] += 1
        st["keep"], st["kept"] = keep, kept
        # Send order: by global expert, then slot order (t, j).
        st["send"] = [[(t, j) for t in range(N) for j in range(k) if keep[t, j] and choice[t, j] == e]
                      for e in range(E)]

    def expert_rows(self, sts, holder):
        """For each local expert of `holder`: its rows from every source of its EP group, source by source
        (ascending rank), each source's rows in its send order."""
        hr = self.ranks[holder]
        groups = []
        for le in range(hr.E_local):
            e = hr.first + le
            parts = []
            for src in range(hr.group * self.P, (hr.group + 1) * self.P):
                for (t, j) in sts[src]["send"][e]:
                    parts.append((src, t, j))
            groups.append(parts)
        return groups

    def expert_segments(self, experts):
        """The trainer's one fork over a holder's stacked rows (all its experts', in expert order), 16 rows at
        least per thread: (local expert, its row slice) for each expert's part of each thread's share."""
        begins = np.cumsum([0] + [len(e["parts"]) for e in experts])
        segments = []
        for r0, r1 in row_chunks(int(begins[-1]), 16, self.c["threads"]):
            for le in range(len(experts)):
                lo, hi = max(r0, begins[le]), min(r1, begins[le + 1])
                if hi > lo:
                    segments.append((le, slice(int(lo - begins[le]), int(hi - begins[le]))))
        return segments

    def moe_forward(self, l, w, sts, xs):
        c, D, F = self.c, self.D, self.F
        k = top_k_of(c, l)
        name = f"layers.{l}.moe."
        for r, st in enumerate(sts):
            self.route(l, st, xs[r], w[name + "router"])
        selected = sum(st["selected"] for st in sts)
        outputs = [dict() for _ in sts]  # rank -> (t, j) -> expert output row
        for holder in range(self.W):
            w1 = self.local_w(w, holder, name + "experts.w1")
            w3 = self.local_w(w, holder, name + "experts.w3")
            w2 = self.local_w(w, holder, name + "experts.w2")
            saved = []
            for parts in self.expert_rows(sts, holder):
                X = np.array([xs[s][t] for (s, t, j) in parts], dtype=F32).reshape(len(parts), D)
                saved.append(dict(parts=parts, X=X, G=np.zeros((len(parts), F), dtype=F32),
                                  U=np.zeros((len(parts), F), dtype=F32), act=np.zeros((len(parts), F), dtype=F32),
                                  Y=np.zeros((len(parts), D), dtype=F32)))
            for le, rows in self.expert_segments(saved):
                sv = saved[le]
                X, G, U, act, Y = (sv[n][rows] for n in ("X", "G", "U", "act", "Y"))
                self.gemm.nn(X, w1[le], G, 0.0)
                self.gemm.nn(X, w3[le], U, 0.0)
                act[...] = (G * sigmoid(G)) * U
                self.gemm.nn(act, w2[le], Y, 0.0)
            for sv in saved:
                for i, (s, t, j) in enumerate(sv["parts"]):
                    outputs[s][t, j] = sv["Y"][i]
            sts[holder]["experts"] = saved
        losses = []
        aux_coef_e = F32(c["aux_loss_coef"] * F32(self.E))
        for r, st in enumerate(sts):
            st["returned"] = outputs[r]
            f = selected.astype(np.float64) / (self.Ng * k)
            st["f"] = f
            aux = 0.0
            for e in range(self.E):
                prob_sum = 0.0
                for t in range(self.N):
                    prob_sum += float(st["probs"][t, e])
                aux += float(aux_coef_e) * f[e] * prob_sum / self.Ng
            zl = 0.0
            for t in range(self.N):
                zl += float(c["z_loss_coef"]) * float(st["lse"][t]) * float(st["lse"][t]) / self.Ng
            out = np.zeros((self.N, D), dtype=F32)
            for j in range(k):
                for t in range(self.N):
                    if st["keep"][t, j]:
                        out[t] = out[t] + st["weight"][t, j] * outputs[r][t, j]
            losses.append((aux, zl, out))
        return losses

    def moe_backward(self, l, w, g, sts, douts, xs):
        """Returns each rank's dL/dx of the MoE input; accumulates the router and expert gradients."""
        c, D, E, F = self.c, self.D, self.E, self.F
        k = top_k_of(c, l)
        name = f"layers.{l}.moe."
        ds_rows = []
        dxs = []
        for r, st in enumerate(sts):
            dweight = np.zeros((self.N, k), dtype=F32)
            ds = {}
            for t in range(self.N):
                for j in range(k):
                    if not st["keep"][t, j]:
                        continue
                    y = st["returned"][t, j]
                    dweight[t, j] = dot_lanes(douts[r][t], y)
                    ds[t, j] = st["weight"][t, j] * douts[r][t]
            ds_rows.append(ds)
            # router backward
            aux_coef_e = F32(c["aux_loss_coef"] * F32(E))
            dprobs = np.zeros((self.N, E), dtype=F32)
            for t in range(self.N):
                dp = np.array([F32(float(aux_coef_e) * st["f"][e] / self.Ng) for e in range(E)], dtype=F32)
                mix = F32(0)
                for j in range(k):
                    mix = F32(mix + F32(dweight[t, j] * st["weight"][t, j]))
                for j in range(k):
                    e = st["choice"][t, j]
                    dp[e] = F32(dp[e] + F32(F32(dweight[t, j] - mix) / st["chosen"][t]))
                p = st["probs"][t]
                dot = F32(0)
                for e in range(E):
                    dot = F32(dot + F32(p[e] * dp[e]))
                zscale = F32(2.0 * float(c["z_loss_coef"]) * float(st["lse"][t]) / self.Ng)
                dprobs[t] = p * (dp - dot) + zscale * p
            dx = np.zeros((self.N, D), dtype=F32)
            self.gemm.batch([self.gemm.tn_of(xs[r], dprobs, g[r][name + "router"], 0.0),
                             self.gemm.nt_of(dprobs, w[name + "router"], dx, 1.0)])
            dxs.append(dx)
        back = [dict() for _ in sts]
        for holder in range(self.W):
            w1 = self.local_w(w, holder, name + "experts.w1")
            w3 = self.local_w(w, holder, name + "experts.w3")
            w2 = self.local_w(w, holder, name + "experts.w2")
            gw1 = g[holder][name + "experts.w1"]  # already this rank's experts
            gw3 = g[holder][name + "experts.w3"]  # already this rank's experts
            gw2 = g[holder][name + "experts.w2"]  # already this rank's experts
            experts = sts[holder]["experts"]
            for sv in experts:
                parts, rows = sv["parts"], len(sv["parts"])
                sv["dy"] = np.array([ds_rows[s][t, j] for (s, t, j) in parts], dtype=F32).reshape(rows, D)
                sv["dgate"], sv["dup"] = np.zeros((rows, F), dtype=F32), np.zeros((rows, F), dtype=F32)
                sv["dx"] = np.zeros((rows, D), dtype=F32)
            for le, rows in self.expert_segments(experts):
                sv = experts[le]
                dy, G, U, dgate, dup, dxr = (sv[n][rows] for n in ("dy", "G", "U", "dgate", "dup", "dx"))
                dact = np.zeros(G.shape, dtype=F32)
                self.gemm.nt(dy, w2[le], dact, 0.0)
                s_ = sigmoid(G)
                dup[...] = dact * (G * s_)
                dgate[...] = ((dact * U) * s_) * (F32(1.0) + G * (F32(1.0) - s_))
                self.gemm.nt(dgate, w1[le], dxr, 0.0)
                self.gemm.nt(dup, w3[le], dxr, 1.0)
            weight_grads = []  # every expert's three weight gradients in one batch
            for le, sv in enumerate(experts):
                weight_grads += [self.gemm.tn_of(sv["act"], sv["dy"], gw2[le], 0.0),
                                 self.gemm.tn_of(sv["X"], sv["dgate"], gw1[le], 0.0),
                                 self.gemm.tn_of(sv["X"], sv["dup"], gw3[le], 0.0)]
            self.gemm.batch(weight_grads)
            for sv in experts:
                for i, (s, t, j) in enumerate(sv["parts"]):
                    back[s][t, j] = sv["dx"][i]
        for r, st in enumerate(sts):
            for t in range(self.N):
                for j in range(k):
                    if st["keep"][t, j]:
                        dxs[r][t] = dxs[r][t] + back[r][t, j]
        return dxs

    # --- one step ------------------------------------------------------------------------------------
    def forward_backward(self, w, batches):
        c, N, D, H, hd, T, L = self.c, self.N, self.D, self.H, self.hd, self.T, self.c["n_layers"]
        V = c["vocab_size"]
        acts = [[dict() for _ in range(L)] for _ in range(self.W)]
        resid = [[w["embed"][batches[r][0]].astype(F32)] for r in range(self.W)]
        aux_total = [0.0] * self.W
        z_total = [0.0] * self.W
        for l in range(L):
            p = f"layers.{l}."
            h2s = []
            for r in range(self.W):
                a = acts[r][l]
                x = resid[r][l]
                a["h1"], a["r1"] = rmsnorm_forward(x, w[p + "attn_norm.weight"])
                for n in ("q", "k", "v"):
                    a[n] = np.zeros((N, D), dtype=F32)
                self.gemm.batch([self.gemm.nn_of(a["h1"], w[p + "attn.w" + n], a[n], 0.0) for n in ("q", "k", "v")])
                rope(a["q"], H, hd, self.rope, False)
                rope(a["k"], H, hd, self.rope, False)
                a["att"], a["attn_lse"] = attention_forward(self.gemm, a["q"], a["k"], a["v"], self.Bl, T, H, hd)
                a["x2"] = x.copy()
                self.gemm.nn(a["att"], w[p + "attn.wo"], a["x2"], 1.0)
                a["h2"], a["r2"] = rmsnorm_forward(a["x2"], w[p + "moe_norm.weight"])
                h2s.append(a["h2"])
            moe = self.moe_forward(l, w, [acts[r][l] for r in range(self.W)], h2s)
            for r in range(self.W):
                aux, zl, out = moe[r]
                aux_total[r] += aux
                z_total[r] += zl
                resid[r].append(acts[r][l]["x2"] + out)
        grads = [{name: np.zeros(self.local_w(w, r, name).shape, dtype=F32) for name, _, _ in param_specs(c)}
                 for r in range(self.W)]
        ce = []
        dxs = []
        grad_scale = F32(1.0 / self.Ng)
        for r in range(self.W):
            hf, rf = rmsnorm_forward(resid[r][L], w["final_norm.weight"])
            logits = np.zeros((N, V), dtype=F32)
            self.gemm.nn(hf, w["lm_head"], logits, 0.0)
            targets = batches[r][1]
            total = 0.0
            dlogits = np.zeros_like(logits)
            for n in range(N):
                row = logits[n]
                mx = row.max()
                s = 0.0
                for v in exp_d((row - mx).astype(np.float64)):
                    s += v
                lse = math.log(s) + float(mx)
                total += lse - float(row[targets[n]])
                dlogits[n] = exp_d(row.astype(np.float64) - lse).astype(F32) * grad_scale
                dlogits[n, targets[n]] = dlogits[n, targets[n]] - grad_scale
            ce.append(total / self.Ng)
            g = grads[r]
            dtmp = np.zeros((N, D), dtype=F32)
            self.gemm.batch([self.gemm.tn_of(hf, dlogits, g["lm_head"], 0.0),
                             self.gemm.nt_of(dlogits, w["lm_head"], dtmp, 0.0)])
            dx = np.zeros((N, D), dtype=F32)
            rmsnorm_backward(dtmp, resid[r][L], w["final_norm.weight"], rf, dx, g["final_norm.weight"])
            dxs.append(dx)
        for l in reversed(range(L)):
            p = f"layers.{l}."
            dmoe = self.moe_backward(l, w, grads, [acts[r][l] for r in range(self.W)], dxs,
                                     [acts[r][l]["h2"] for r in range(self.W)])
            for r in range(self.W):
                a, g, dx = acts[r][l], grads[r], dxs[r]
                rmsnorm_backward(dmoe[r], a["x2"], w[p + "moe_norm.weight"], a["r2"], dx, g[p + "moe_norm.weight"])
                datt = np.zeros((N, D), dtype=F32)
                self.gemm.batch([self.gemm.tn_of(a["att"], dx, g[p + "attn.wo"], 0.0),
                                 self.gemm.nt_of(dx, w[p + "attn.wo"], datt, 0.0)])
                dq, dk, dv = attention_backward(self.gemm, datt, a["q"], a["k"], a["v"], a["attn_lse"], self.Bl, T, H, hd)
                rope(dq, H, hd, self.rope, True)
                rope(dk, H, hd, self.rope, True)
                dh = np.zeros((N, D), dtype=F32)
                self.gemm.batch([self.gemm.tn_of(a["h1"], d, g[p + "attn.w" + n], 0.0)
                                 for n, d in (("q", dq), ("k", dk), ("v", dv))] +
                                [self.gemm.nt_of(dq, w[p + "attn.wq"], dh, 0.0)])
                self.gemm.nt(dk, w[p + "attn.wk"], dh, 1.0)
                self.gemm.nt(dv, w[p + "attn.wv"], dh, 1.0)
                rmsnorm_backward(dh, resid[r][l], w[p + "attn_norm.weight"], a["r1"], dx, g[p + "attn_norm.weight"])
        for r in range(self.W):
            de = grads[r]["embed"]
            for n in range(N):
                de[batches[r][0][n]] += dxs[r][n]
        return (ce, aux_total, z_total), grads


def rank_sum(values):
    """The all-reduce's sum: in rank order (bitwise the same as MPI_SUM for one or two ranks)."""
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


def reduce_gradients(model, specs, grads):
    """Dense gradients summed over all ranks; expert gradients over the ranks holding the same experts."""
    reduced = {}
    for name, shape, expert in specs:
        if not expert:
            reduced[name] = rank_sum([grads[r][name] for r in range(model.W)])
            continue
        blocks = []
        for e_rank in range(model.P):
            holders = [r for r in range(model.W) if model.ranks[r].ep_rank == e_rank]
            blocks.append(rank_sum([grads[r][name] for r in holders]))
        reduced[name] = np.concatenate(blocks)
    return reduced


def sum_of_squares(x):
    """Blocks of 65536 floats in order, each an 8-lane sum of squares in double (MODEL.md, ssq)."""
    total = 0.0
    for b in range(0, len(x), 65536):
        block = x[b:b + 65536].astype(np.float64)
        total += float(sum_lanes_rows((block * block).reshape(1, -1))[0])
    return total


def grad_norm(model, specs, g):
    dense = np.concatenate([g[name].ravel() for name, _, expert in specs if not expert])
    ss_dense = sum_of_squares(dense)
    per_ep = []
    for e_rank in range(model.P):
        rk = model.ranks[e_rank]
        arena = np.concatenate([g[name][rk.first:rk.first + rk.E_local].ravel()
                                for l in range(model.c["n_layers"]) for name in
                                (f"layers.{l}.moe.experts.w1", f"layers.{l}.moe.experts.w3",
                                 f"layers.{l}.moe.experts.w2")])
        per_ep.append(sum_of_squares(arena))
    return math.sqrt(ss_dense + rank_sum(per_ep))


def learning_rate(c, s):
    lr, warm, S = c["lr"], c["warmup_steps"], c["steps"]
    if s < warm:
        return F32(F32(lr * F32(s + 1)) / F32(warm))
    decay = S - warm
    if decay <= 1:
        return lr
    progress = min(1.0, (s - warm) / (decay - 1))
    cosine = 0.5 * (1.0 + math.cos(3.141592653589793 * progress))
    return F32(float(c["min_lr"]) + float(F32(lr - c["min_lr"])) * cosine)


def adamw(c, specs, w, g, m, v, lr, t, clip):
    b1, b2, eps, wd = c["beta1"], c["beta2"], c["eps"], c["weight_decay"]
    bc1 = F32(1.0) - F32(math.pow(float(b1), t))
    bc2 = F32(1.0) - F32(math.pow(float(b2), t))
    for name, shape, _ in specs:
        decay = wd if len(shape) >= 2 else F32(0)
        gi = g[name] * clip
        m[name] = b1 * m[name] + (F32(1.0) - b1) * gi
        v[name] = b2 * v[name] + ((F32(1.0) - b2) * gi) * gi
        update = (m[name] / bc1) / (np.sqrt(v[name] / bc2) + eps)
        w[name] = w[name] - lr * (update + decay * w[name])


# ---------------------------------------------------------------------------------------------------------
# Comparison with sigma-train's files.

def read_checkpoint(directory):
    step = open(f"{directory}/latest").read().strip()
    manifest = json.load(open(f"{directory}/{step}/manifest.json"))
    out = {}
    for name, t in manifest["tensors"].items():
        full = np.empty(t["global_shape"], dtype=F32)
        for p in t["pieces"]:
            with h5py.File(f"{directory}/{step}/{p['file']}", "r") as f:
                full[p["row_begin"]:p["row_end"]] = f[p["dataset"]][...]
        out[name] = full
    return manifest["step"], out


class Checker:
    def __init__(self, bitwise):
        self.bitwise = bitwise
        self.failures = []
        self.checked = 0
        self.worst = {}  # kind -> largest difference seen (tolerance mode)

    def scalar(self, what, mine, theirs, rel):
        self.checked += 1
        diff = abs(mine - theirs) / max(abs(theirs), 1e-30)
        kind = what.split()[-1] + " relative"
        self.worst[kind] = max(self.worst.get(kind, 0.0), diff)
        ok = mine == theirs if self.bitwise else diff <= rel
        if not ok:
            self.failures.append(f"{what}: reference {mine!r}, sigma-train {theirs!r}")

    def tensor(self, what, mine, theirs, atol):
        self.checked += 1
        if mine.shape != theirs.shape:
            self.failures.append(f"{what}: shape {mine.shape} vs {theirs.shape}")
            return
        if self.bitwise:
            diff = np.nonzero(mine.view(np.uint32) != theirs.view(np.uint32))[0] if mine.ndim == 1 else \
                np.nonzero((mine.view(np.uint32) != theirs.view(np.uint32)).ravel())[0]
            if len(diff):
                i = diff[0]
                self.failures.append(f"{what}: {len(diff)} of {mine.size} values differ in their bits, first at "
                                     f"flat index {i}: reference {mine.ravel()[i]!r}, sigma-train {theirs.ravel()[i]!r}")
        else:
            err = float(np.max(np.abs(mine.astype(np.float64) - theirs))) if mine.size else 0.0
            self.worst["weight absolute"] = max(self.worst.get("weight absolute", 0.0), err)
            if err > atol:
                self.failures.append(f"{what}: max |difference| {err:.3g} above {atol:.3g}")


def main():
    ap = argparse.ArgumentParser()
    for opt in ("config", "data", "init-ckpt", "final-ckpt", "log"):
        ap.add_argument("--" + opt, required=True)
    ap.add_argument("--world", type=int, default=1)
    ap.add_argument("--ep", type=int, default=1)
    ap.add_argument("--sgemm", required=True)
    args = ap.parse_args()

    c = read_config(args.config)
    gemm = Sgemm(args.sgemm, c["threads"])
    bitwise = gemm.lib is not None
    check = Checker(bitwise)
    specs = param_specs(c)
    w = init_weights(c)

    # Init: always bitwise (no matmul involved).
    init_step, init_ckpt = read_checkpoint(args.init_ckpt)
    assert init_step == 0, f"{args.init_ckpt}: expected the step-0 checkpoint, got step {init_step}"
    init_check = Checker(True)
    for name, _, _ in specs:
        init_check.tensor(f"init {name}", w[name], init_ckpt[name], 0)
    check.failures += init_check.failures
    check.checked += init_check.checked

    tokens = read_tokens(args.data)
    model = Model(c, args.world, args.ep, gemm)
    m = {name: np.zeros_like(w[name]) for name, _, _ in specs}
    v = {name: np.zeros_like(w[name]) for name, _, _ in specs}
    logged = [json.loads(line) for line in open(args.log) if line.startswith('{"')]
    logged = [e for e in logged if "step" in e and "loss" in e]
    # Tolerances of the float64-matmul mode (MODEL.md "What is reproduced").
    rel_loss, rel_norm, atol_weight = 1e-6, 1e-5, 1e-4
    for s in range(c["steps"]):
        batches = [rank_batch(c, tokens, s * c["global_batch"], r, args.world) for r in range(args.world)]
        (ce, aux, zl), grads = model.forward_backward(w, batches)
        parts = (rank_sum(ce), rank_sum(aux), rank_sum(zl))
        g = reduce_gradients(model, specs, grads)
        norm = grad_norm(model, specs, g)
        clip = F32(1.0)
        if c["grad_clip"] > 0 and norm > float(c["grad_clip"]):
            clip = F32(float(c["grad_clip"]) / norm)
        lr = learning_rate(c, s)
        adamw(c, specs, w, g, m, v, lr, s + 1, clip)
        line = logged[s]
        assert line["step"] == s + 1
        for key, mine in (("ce_loss", parts[0]), ("aux_loss", parts[1]), ("z_loss", parts[2]),
                          ("loss", parts[0] + parts[1] + parts[2])):
            check.scalar(f"step {s + 1} {key}", mine, line[key], rel_loss)
        check.scalar(f"step {s + 1} grad_norm", norm, line["grad_norm"], rel_norm)
        check.scalar(f"step {s + 1} lr", float(lr), line["lr"], 0)

    final_step, final = read_checkpoint(args.final_ckpt)
    assert final_step == c["steps"], f"{args.final_ckpt}: step {final_step}, expected {c['steps']}"
    for name, _, _ in specs:
        check.tensor(f"step {final_step} {name}", w[name], final[name], atol_weight)
        if bitwise:
            check.tensor(f"step {final_step} adam.m.{name}", m[name], final["adam.m." + name], 0)
            check.tensor(f"step {final_step} adam.v.{name}", v[name], final["adam.v." + name], 0)
    if check.failures:
        for f in check.failures[:10]:
            print(f, file=sys.stderr)
        print(f"{len(check.failures)} of {check.checked} checks differ", file=sys.stderr)
        return 1
    mode = "bitwise" if bitwise else (f"within {rel_loss:g} relative (losses), {rel_norm:g} relative (gradient norms), "
                                      f"{atol_weight:g} absolute (weights)")
    if not bitwise:
        mode += " (largest differences: " + ", ".join(f"{k} {v:.2g}" for k, v in sorted(check.worst.items())) + ")"
    print(f"ok: init, {c['steps']} steps on {args.world} rank(s), ep {args.ep}: {check.checked} checks agree {mode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
