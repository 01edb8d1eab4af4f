#!/usr/bin/env python3
"""torch_train.py: a small data-parallel PyTorch program that speaks sigma's supervision protocol.

Copy it as the skeleton of your own training program. Under `sigma-launch supervise` (torch-train.sbatch) it
gets what sigma-train gets: a killed, crashed or frozen rank restarted on a spare node, a hang found from the
progress beats, and Slurm's warning before the time limit turned into a checkpoint and a requeue.

    srun --mpi=pmix -N 2 python3 torch_train.py --ckpt-dir /shared/run/ckpt --steps 1000

What it does: a 2-layer MLP learns a fixed linear map from synthetic data, with torch.distributed (gloo, CPU)
and DistributedDataParallel. Each step's global batch is drawn from a generator seeded by the step number, each
rank taking its share, so a resumed run computes the same steps as one that was never interrupted. Rank 0 writes
a checkpoint every --ckpt-every steps (a temporary file, fsync, rename: the newest file is always whole); a
start loads the newest one.

The sigma calls (clients/python/sigma): start() once the ranks can talk and the checkpoint is loaded, beat()
after every step, should_stop() checked every step (SIGUSR1/SIGTERM: save, exit sigma.EXIT_REQUEUE = 42).
"""

import argparse
import datetime
import os
import sys
import time

try:
    import sigma
except ImportError:  # run from the source tree: clients/examples/ beside clients/python/
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "python"))
    import sigma

try:
    import torch
    import torch.distributed as dist
except ImportError:
    print("torch_train: PyTorch is not installed; expected the torch module (Debian: python3-torch)",
          file=sys.stderr)
    sys.exit(sigma.EXIT_NOT_FOUND)

GLOBAL_BATCH = 64
INPUTS = 8
HIDDEN = 32


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        print(f"torch_train: {message}", file=sys.stderr)
        sys.exit(sigma.EXIT_USAGE)


def whole(minimum):
    def parse(text):
        if not text.isdigit() or int(text) < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got \"{text}\"")
        return int(text)
    return parse


def seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds >= 0, got \"{text}\"")
    return value


def parse_options():
    parser = OneLineParser(prog="torch_train", description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=whole(1), default=1000, help="train up to this step (default 1000)")
    parser.add_argument("--ckpt-every", type=whole(1), default=100, help="steps between checkpoints (default 100)")
    parser.add_argument("--ckpt-dir", required=True, help="checkpoints, on a filesystem every node sees")
    parser.add_argument("--rendezvous-dir", help="torch.distributed's file store, on a filesystem every node sees "
                        "(default: the checkpoint directory)")
    parser.add_argument("--step-seconds", type=seconds, default=0.0, help="sleep this long each step (tests)")
    return parser.parse_args()


def rank_and_world():
    """srun sets SLURM_PROCID and SLURM_NTASKS for every task; torchrun sets RANK and WORLD_SIZE."""
    rank = os.environ.get("SLURM_PROCID", os.environ.get("RANK", "0"))
    world = os.environ.get("SLURM_NTASKS", os.environ.get("WORLD_SIZE", "1"))
    return int(rank), int(world)


def rendezvous_file(directory):
    """One file store per attempt: the supervisor hands each attempt its own SIGMA_HEARTBEAT_ATTEMPT, so a restart
    never finds the store of the attempt it replaces (whose ranks may have died holding it)."""
    job = os.environ.get("SLURM_JOB_ID", "local")
    attempt = os.environ.get("SIGMA_HEARTBEAT_ATTEMPT") or "step{}.run{}".format(
        os.environ.get("SLURM_STEP_ID", "0"), os.environ.get("SLURM_RESTART_COUNT", "0"))
    return os.path.join(directory, f"torch-store.{job}.{attempt}")


def batch(step, rank, world):
    """The step's global batch from a generator seeded by the step alone; this rank's rows of it."""
    generator = torch.Generator().manual_seed(step)
    x = torch.randn(GLOBAL_BATCH, INPUTS, generator=generator)
    target = x @ torch.linspace(-1.0, 1.0, INPUTS).unsqueeze(1) + 0.5
    return x[rank::world], target[rank::world]


def checkpoint_path(directory, step):
    return os.path.join(directory, f"step_{step:08d}.pt")


def checkpoints(directory):
    """The steps of the committed checkpoints, oldest first (a temporary file starts with '.')."""
    names = (name for name in os.listdir(directory) if name.startswith("step_") and name.endswith(".pt"))
    return sorted(int(name[5:-3]) for name in names if name[5:-3].isdigit())


def save(directory, step, model, optimizer, rank):
    """Rank 0 writes the whole state (the replicas are identical) and keeps the newest two; every rank waits
    until it is committed."""
    if rank == 0:
        temporary = os.path.join(directory, f".step_{step:08d}.pt.tmp")
        with open(temporary, "wb") as out:
            torch.save({"step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict()}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, checkpoint_path(directory, step))
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)  # the rename itself survives a crash
        finally:
            os.close(descriptor)
        for older in checkpoints(directory)[:-2]:
            os.unlink(checkpoint_path(directory, older))
    dist.barrier()


def hang_if_asked(step, rank, resumed_from):
    """Test hook: SIGMA_EXAMPLE_HANG_RANK stops making progress at SIGMA_EXAMPLE_HANG_AT_STEP, as a rank stuck in
    a collective does: its liveness thread beats on, its partners wait for it. Only in a run that started from
    step 0, so that the restart, resumed from a checkpoint, trains on."""
    if (resumed_from == 0 and os.environ.get("SIGMA_EXAMPLE_HANG_RANK") == str(rank)
            and os.environ.get("SIGMA_EXAMPLE_HANG_AT_STEP") == str(step)):
        print(f"torch_train: rank {rank} hangs at step {step} (SIGMA_EXAMPLE_HANG_AT_STEP)", flush=True)
        while True:
            time.sleep(1)


def main():
    args = parse_options()
    rank, world = rank_and_world()
    rendezvous_dir = args.rendezvous_dir or args.ckpt_dir
    os.makedirs(args.ckpt_dir, exist_ok=True)
    os.makedirs(rendezvous_dir, exist_ok=True)
    torch.set_num_threads(1)

    dist.init_process_group("gloo", init_method="file://" + rendezvous_file(rendezvous_dir), rank=rank,
                            world_size=world, timeout=datetime.timedelta(minutes=10))
    torch.manual_seed(0)  # the same initial weights on every rank
    model = torch.nn.Sequential(torch.nn.Linear(INPUTS, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    first = (checkpoints(args.ckpt_dir) or [0])[-1]
    if first:
        state = torch.load(checkpoint_path(args.ckpt_dir, first))
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if rank == 0:
            print(f"torch_train: resumed from step {first}", flush=True)
    parallel = torch.nn.parallel.DistributedDataParallel(model)
    sigma.start(rank, resumed_from=first)

    for step in range(first, args.steps):
        hang_if_asked(step, rank, first)
        x, target = batch(step, rank, world)
        loss = torch.nn.functional.mse_loss(parallel(x), target)
        optimizer.zero_grad()
        loss.backward()  # DDP averages the gradients over the ranks here
        optimizer.step()
        done = step + 1
        sigma.beat(done)
        time.sleep(args.step_seconds)
        # A signal reaches the ranks at different moments: they agree on stopping, or one would wait forever in
        # the next step's collective for a partner that left.
        stop = torch.tensor([1.0 if sigma.should_stop() else 0.0])
        dist.all_reduce(stop, op=dist.ReduceOp.MAX)
        if stop.item() or done % args.ckpt_every == 0 or done == args.steps:
            save(args.ckpt_dir, done, model, optimizer, rank)
        if stop.item():
            if rank == 0:
                print(f"torch_train: stopped at step {done} on a signal: saved, exit {sigma.EXIT_REQUEUE}", flush=True)
            dist.destroy_process_group()
            return sigma.EXIT_REQUEUE

    last = max(first, args.steps)
    with torch.no_grad():  # the loss on the next step's batch: the same for a resumed run and an uninterrupted one
        x, target = batch(last, rank, world)
        loss = torch.nn.functional.mse_loss(model(x), target)
    dist.all_reduce(loss, op=dist.ReduceOp.SUM)
    if rank == 0:
        print(f"torch_train: done step {last} loss {loss.item() / world:.6f}", flush=True)
    dist.destroy_process_group()
    return sigma.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
