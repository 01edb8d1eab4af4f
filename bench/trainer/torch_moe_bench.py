#!/usr/bin/python3
"""The sigma-train bench model written plainly in PyTorch, for a speed comparison on the same machine.

Same shapes and steps as sigma_trainer_bench: RMSNorm, RoPE, causal attention, softmax router with top-k
(weights renormalised over the chosen k), capacity per expert in token order (0 = none), SwiGLU experts,
aux and z losses, tied nothing, AdamW. Prints one JSON line: {"threads", "tokens_per_s", "median_step_s"}.
Used by sigma_trainer_bench (which skips it with a note when torch is missing).
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


class RMSNorm(torch.nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.g = torch.nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.g


def rope(x, cos, sin):  # x: [B, H, T, hd], pairs (2i, 2i+1)
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)


class MoE(torch.nn.Module):
    def __init__(self, d, f, e, k, capacity, aux, z):
        super().__init__()
        self.router = torch.nn.Linear(d, e, bias=False)
        self.w1 = torch.nn.Parameter(torch.randn(e, d, f) * 0.02)
        self.w3 = torch.nn.Parameter(torch.randn(e, d, f) * 0.02)
        self.w2 = torch.nn.Parameter(torch.randn(e, f, d) * 0.02)
        self.e, self.k, self.capacity, self.aux, self.z = e, k, capacity, aux, z

    def forward(self, x):  # x: [N, D]
        n = x.shape[0]
        logits = self.router(x)
        probs = logits.softmax(-1)
        top_p, top_i = probs.topk(self.k, dim=-1)
        weights = top_p / top_p.sum(-1, keepdim=True)
        flat_i = top_i.flatten()
        tokens = torch.arange(n).repeat_interleave(self.k)
        out = torch.zeros_like(x)
        cap = math.ceil(self.capacity * n * self.k / self.e) if self.capacity > 0 else n * self.k
        counts = torch.bincount(flat_i, minlength=self.e).float()
        for e in range(self.e):
            slots = (flat_i == e).nonzero().flatten()[:cap]
            if slots.numel() == 0:
                continue
            t = tokens[slots]
            h = x[t]
            y = (F.silu(h @ self.w1[e]) * (h @ self.w3[e])) @ self.w2[e]
            out.index_add_(0, t, y * weights.flatten()[slots].unsqueeze(1))
        aux = self.aux * self.e * ((counts / (n * self.k)) * probs.mean(0)).sum()
        z = self.z * torch.logsumexp(logits, -1).pow(2).mean()
        return out, aux + z


class Model(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        d, self.h, self.t = a.d_model, a.heads, a.seq_len
        self.embed = torch.nn.Embedding(256, d)
        self.blocks = torch.nn.ModuleList()
        for _ in range(a.layers):
            blk = torch.nn.Module()
            blk.n1, blk.n2 = RMSNorm(d), RMSNorm(d)
            blk.q, blk.k, blk.v, blk.o = (torch.nn.Linear(d, d, bias=False) for _ in range(4))
            blk.moe = MoE(d, a.d_ff, a.experts, a.top_k, a.capacity, 0.01, 0.001)
            self.blocks.append(blk)
        self.norm = RMSNorm(d)
        self.head = torch.nn.Linear(d, 256, bias=False)
        hd = d // a.heads
        freq = 10000.0 ** (-torch.arange(0, hd, 2).double() / hd)
        angle = torch.arange(a.seq_len).double()[:, None] * freq[None, :]
        self.cos, self.sin = angle.cos().float(), angle.sin().float()
        self.mask = torch.full((a.seq_len, a.seq_len), float("-inf")).triu(1)

    def forward(self, idx, targets):
        b, t = idx.shape
        x = self.embed(idx)
        extra = 0
        for blk in self.blocks:
            h = blk.n1(x)
            q, k, v = (m(h).view(b, t, self.h, -1).transpose(1, 2) for m in (blk.q, blk.k, blk.v))
            q, k = rope(q, self.cos, self.sin), rope(k, self.cos, self.sin)
            s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + self.mask
            att = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, -1)
            x = x + blk.o(att)
            y, loss = blk.moe(blk.n2(x).view(b * t, -1))
            x = x + y.view(b, t, -1)
            extra = extra + loss
        logits = self.head(self.norm(x))
        return F.cross_entropy(logits.view(b * t, -1), targets.reshape(-1)) + extra


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--capacity", type=float, default=0.0)
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--experts", type=int, default=8)
    p.add_argument("--top-k", type=int, default=2)
    p.add_argument("--d-ff", type=int, default=512)
    p.add_argument("--batch", type=int, default=8)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Model(a)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    gen = torch.Generator().manual_seed(1)
    times = []
    for step in range(a.warmup + a.steps):
        data = torch.randint(0, 256, (a.batch, a.seq_len + 1), generator=gen)
        start = time.perf_counter()
        loss = model(data[:, :-1], data[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step >= a.warmup:
            times.append(time.perf_counter() - start)
    median = sorted(times)[len(times) // 2]
    print(json.dumps({"threads": a.threads, "tokens_per_s": a.batch * a.seq_len / median, "median_step_s": median}))


if __name__ == "__main__":
    main()
