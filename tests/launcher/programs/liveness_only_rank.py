"""A program that calls the sigma client's start() and never beat(): liveness beats only, as under
`sigma-launch supervise --beats liveness`. Records its PID and node in DIR/rank-<r>, then runs SECONDS and exits 0
(42 once a stop signal came: it has nothing to save). Usage: liveness_only_rank.py DIR SECONDS"""
import os
import sys
import time

import sigma

directory, seconds = sys.argv[1], float(sys.argv[2])
sigma.start()
rank = int(os.environ["SLURM_PROCID"])
with open(os.path.join(directory, f"rank-{rank}"), "w") as out:
    out.write(f"{os.getpid()} {sigma.node_name()}\n")
deadline = time.time() + seconds
while time.time() < deadline and not sigma.should_stop():
    time.sleep(0.2)
sys.exit(sigma.EXIT_REQUEUE if sigma.should_stop() else sigma.EXIT_OK)
