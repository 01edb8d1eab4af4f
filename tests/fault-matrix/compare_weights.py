"""Compares a run's final checkpoint with the fault-free reference's (ckpt/FORMAT.md: the manifest holds an
XXH3-64 checksum of every piece of every tensor, so equal checksums mean bitwise equal weights and optimizer
state; the load path verifies them against the data).

    compare_weights.py equal REFERENCE_MANIFEST FINAL_MANIFEST    exit 0 when every tensor is bitwise the same
    compare_weights.py differ REFERENCE_MANIFEST FINAL_MANIFEST   exit 0 when some tensor differs and every value
                                                                   of the final checkpoint is finite (read with h5py)

Prints the step, the data position (sequences consumed) of both, and how many tensors differ. Needs h5py and
numpy only for `differ` (Debian's python3-h5py, through /usr/bin/python3).
"""
import json
import os
import sys


def checksums(manifest):
    return {name: [piece["xxh3_64"] for piece in tensor["pieces"]] for name, tensor in manifest["tensors"].items()}


def all_finite(manifest_path, manifest):
    import h5py
    import numpy

    step_dir = os.path.dirname(manifest_path)
    for name, tensor in manifest["tensors"].items():
        for piece in tensor["pieces"]:
            with h5py.File(os.path.join(step_dir, piece["file"]), "r") as shard:
                if not numpy.isfinite(shard[piece["dataset"]][()]).all():
                    print(f"compare_weights.py: {name} in {piece['file']} holds a non-finite value")
                    return False
    return True


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("equal", "differ"):
        sys.exit(__doc__)
    mode, reference_path, final_path = sys.argv[1:]
    reference, final = (json.load(open(path)) for path in (reference_path, final_path))
    ref_sums, final_sums = checksums(reference), checksums(final)
    differing = sorted(name for name in ref_sums if ref_sums[name] != final_sums.get(name))
    differing += sorted(set(final_sums) - set(ref_sums))
    print(f"reference: step {reference['step']}, data position {reference['scalars']['data_position']}; "
          f"this run: step {final['step']}, data position {final['scalars']['data_position']}; "
          f"{len(differing)} of {len(ref_sums)} tensors differ{': ' + ', '.join(differing[:4]) if differing else ''}")
    if mode == "equal":
        return 0 if not differing and reference["step"] == final["step"] else 1
    return 0 if differing and all_finite(final_path, final) else 1


if __name__ == "__main__":
    sys.exit(main())
