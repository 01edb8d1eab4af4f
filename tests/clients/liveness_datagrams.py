"""Liveness by datagram as a client sends it: runs a client program (the command line) as rank 3 with a
supervisor's environment that names a UDP port, receives two liveness datagrams there and checks them (version 2,
rank, node, attempt, the token, a second beat later than the first), that no alive-<r> file was written, and that
SIGUSR1 still ends the program with exit 42. Usage: liveness_datagrams.py DIR COMMAND..."""
import json
import os
import signal
import socket
import subprocess
import sys

directory, command = sys.argv[1], sys.argv[2:]
inbox = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
inbox.bind(("127.0.0.1", 0))
inbox.settimeout(5)
env = dict(os.environ, SIGMA_HEARTBEAT_DIR=directory, SIGMA_HEARTBEAT_ATTEMPT="77.2", SIGMA_NODE_NAME="n9",
           SLURM_LAUNCH_NODE_IPADDR="127.0.0.1", SIGMA_LIVENESS_PORT=str(inbox.getsockname()[1]),
           SIGMA_LIVENESS_TOKEN="t0ken")
program = subprocess.Popen(command + ["3", "5"], env=env)
try:
    beats = [json.loads(inbox.recv(2048)) for _ in range(2)]
finally:
    program.send_signal(signal.SIGUSR1)
    status = program.wait(10)

for beat in beats:
    expected = {"v": 2, "rank": 3, "node": "n9", "attempt": "77.2", "token": "t0ken"}
    if {key: beat.get(key) for key in expected} != expected:
        sys.exit(f"FAIL: datagram {beat}: expected the fields {expected}")
if not beats[1]["time"] > beats[0]["time"]:
    sys.exit(f"FAIL: the second liveness datagram is not later than the first: {beats}")
if any(name.startswith("alive-") for name in os.listdir(directory)):
    sys.exit(f"FAIL: an alive- file was written beside the datagrams: {os.listdir(directory)}")
if status != 42:
    sys.exit(f"FAIL: exit {status} after SIGUSR1, want 42")
