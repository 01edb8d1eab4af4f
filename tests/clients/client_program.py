"""The Python twin of client_program.cpp: a program that knows sigma only through `import sigma`.
usage: client_program.py RANK STEPS [blame]"""
import sys
import time

import sigma

rank, steps = int(sys.argv[1]), int(sys.argv[2])
sigma.start(rank=rank)
sigma.ready()
for step in range(1, steps + 1):
    sigma.beat(step)
if sys.argv[3:] == ["blame"]:
    sigma.blame(rank)
for _ in range(600):
    if sigma.should_stop():
        break
    time.sleep(0.1)
sys.exit(sigma.EXIT_REQUEUE if sigma.should_stop() else sigma.EXIT_HANG)
