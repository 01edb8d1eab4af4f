"""Reads a sigma checkpoint with h5py alone, following ckpt/FORMAT.md, and checks every value of every tensor
against the synthetic state's formula (tests/ckpt/synthetic_state.hpp)."""
import json
import sys

import h5py
import numpy as np


def expected(name, step, shape):
    h = 2166136261
    for c in name.encode():
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    rows = np.arange(shape[0], dtype=np.float32).reshape([-1] + [1] * (len(shape) - 1))
    cols = np.arange(int(np.prod(shape[1:])), dtype=np.float32).reshape(shape[1:]) if len(shape) > 1 else 0
    base = np.float32(h % 1000) + np.float32(step) * np.float32(0.25)
    return (base + rows * np.float32(0.0625)) + cols * np.float32(1.0e-4)


def main(directory, step):
    latest = open(f"{directory}/latest").read().strip()
    manifest = json.load(open(f"{directory}/{latest}/manifest.json"))
    assert manifest["format"] == "sigma-ckpt" and manifest["step"] == step
    for name, t in manifest["tensors"].items():
        full = np.empty(t["global_shape"], dtype=np.float32)
        for p in t["pieces"]:
            with h5py.File(f"{directory}/{latest}/{p['file']}", "r") as f:
                full[p["row_begin"]:p["row_end"]] = f[p["dataset"]][...]
        want = expected(name, step, t["global_shape"]).astype(np.float32)
        if not np.array_equal(full.view(np.uint32), want.view(np.uint32)):
            sys.exit(f"{name}: values differ")
    print(f"ok: {len(manifest['tensors'])} tensors read with h5py")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
