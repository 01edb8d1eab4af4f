"""sigma's supervision protocol (version 2) for any Python training program: PyTorch, JAX, plain MPI.

Under `sigma-launch supervise`, a program that calls these functions gets what sigma-train gets:

    import sigma
    sigma.start()                      # after torch.distributed / MPI is up: signal handlers, liveness thread
    for step in range(first, last):
        train_one_step()
        sigma.beat(step + 1)           # progress: the supervisor sees a hang when steps stop coming
        if sigma.should_stop():        # SIGUSR1 / SIGTERM (Slurm's warning before the time limit, a grow)
            save_checkpoint()
            sys.exit(sigma.EXIT_REQUEUE)   # 42: Slurm requeues the job, which resumes from the checkpoint

`sigma.blame(rank)` before `sys.exit(sigma.EXIT_NODE_HARDWARE)` names the rank whose node is at fault (a
failed self-check), so the supervisor drains that node and not the one whose rank happened to end first.

Outside a supervised step (no SIGMA_HEARTBEAT_DIR) beat, blame and the liveness thread do nothing, and
should_stop still reports the signals. The files are those of launcher/README.md, "The supervision protocol";
every write replaces a file whole (a temporary file renamed over it), so the supervisor never reads half of one.
The liveness beat is a UDP datagram to the supervisor when it listens for them (SIGMA_LIVENESS_PORT, with
SIGMA_LIVENESS_TOKEN and srun's SLURM_LAUNCH_NODE_IPADDR), else the file alive-<r>. Python standard library only.
"""

import json
import os
import signal
import socket
import threading
import time

PROTOCOL_VERSION = 2

# Exit codes (docs/exit-codes.md). Slurm requeues 10, 12, 13 and 42 (RequeueExit).
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_BAD_DATA = 4
EXIT_NOT_FOUND = 5
EXIT_NODE_HARDWARE = 10
EXIT_NUMERICAL = 11
EXIT_HANG = 12
EXIT_TRANSIENT = 13
EXIT_REQUEUE = 42

LIVENESS_PERIOD_S = 1.0
_RANK_VARIABLES = ("SIGMA_RANK", "RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")

_started_at = time.time()
_state = {"started": False, "rank": None, "node": None, "mpi_ready_at": 0.0, "ready_at": 0.0, "resumed_from": 0,
          "stop": None}
_lock = threading.Lock()


def _directory():
    return os.environ.get("SIGMA_HEARTBEAT_DIR", "")


def _attempt():
    return os.environ.get("SIGMA_HEARTBEAT_ATTEMPT", "")


def node_name():
    """This node as sigma names it: SIGMA_NODE_NAME, else SLURMD_NODENAME, else the short host name."""
    for variable in ("SIGMA_NODE_NAME", "SLURMD_NODENAME"):
        if os.environ.get(variable):
            return os.environ[variable]
    return socket.gethostname().split(".")[0]


def _rank_from_environment():
    for variable in _RANK_VARIABLES:
        value = os.environ.get(variable, "")
        if value.isdigit():
            return int(value)
    raise RuntimeError("sigma: no rank: pass sigma.start(rank=...) or set one of " + ", ".join(_RANK_VARIABLES))


def _write(prefix, rank, record):
    """Replaces DIR/<prefix><rank> whole. Best effort: a full disk must not stop training (the supervisor sees
    the missing beat)."""
    directory = _directory()
    if not directory:
        return
    final = os.path.join(directory, f"{prefix}{rank}")
    temporary = os.path.join(directory, f".{prefix}{rank}.{os.getpid()}.{threading.get_ident()}")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(descriptor, "w") as out:
            out.write(json.dumps(record))
        os.replace(temporary, final)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass


def _on_stop_signal(number, frame):
    _state["stop"] = number


def _liveness_address():
    """(host, port, token) of the supervisor's liveness datagrams, or None: then the file is written."""
    host = os.environ.get("SLURM_LAUNCH_NODE_IPADDR", "")
    port = os.environ.get("SIGMA_LIVENESS_PORT", "")
    token = os.environ.get("SIGMA_LIVENESS_TOKEN", "")
    if not host or not token or not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    return host, int(port), token


def _liveness_loop():
    address = _liveness_address()
    sender = None
    if address:
        try:
            sender = socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET, socket.SOCK_DGRAM)
        except OSError:
            sender = None
    while True:
        record = {"time": time.time(), "attempt": _attempt(), "node": _state["node"]}
        if sender:
            record.update(v=2, rank=_state["rank"], token=address[2])
            try:
                sender.sendto(json.dumps(record).encode(), address[:2])
            except OSError:
                pass  # a missed beat, as a lost datagram is
        else:
            _write("alive-", _state["rank"], record)
        time.sleep(LIVENESS_PERIOD_S)


def start(rank=None, resumed_from=0):
    """Once, from the main thread (Python installs signal handlers there only), when the program's processes can
    talk to each other: records SIGUSR1 and SIGTERM (should_stop) and starts the liveness thread. `rank`: this process's global rank (default: SIGMA_RANK, RANK, SLURM_PROCID,
    OMPI_COMM_WORLD_RANK or PMIX_RANK); `resumed_from`: the step its checkpoint holds (0 for a fresh start)."""
    with _lock:
        if _state["started"]:
            return
        _state.update(started=True, rank=_rank_from_environment() if rank is None else int(rank), node=node_name(),
                      mpi_ready_at=time.time(), resumed_from=int(resumed_from))
        for number in (signal.SIGUSR1, signal.SIGTERM):
            signal.signal(number, _on_stop_signal)
        if _directory():
            threading.Thread(target=_liveness_loop, name="sigma-liveness", daemon=True).start()


def ready():
    """Optional: the moment the program is ready to train (data and checkpoint loaded). Default: the first beat."""
    _state["ready_at"] = time.time()


def beat(step):
    """After each training step: `step` is the number of steps done."""
    start()
    now = time.time()
    if not _state["ready_at"]:
        _state["ready_at"] = now
    _write("rank-", _state["rank"], {
        "rank": _state["rank"], "step": int(step), "time": now, "node": _state["node"],
        "resumed_from": _state["resumed_from"], "started_at": _started_at, "mpi_ready_at": _state["mpi_ready_at"],
        "ready_at": _state["ready_at"], "attempt": _attempt()})


def should_stop():
    """True once SIGUSR1 or SIGTERM has arrived: save, then exit with EXIT_REQUEUE."""
    return _state["stop"] is not None


def blame(rank, node=None):
    """Names the rank (and its node; default: this node when it is this process's rank) whose hardware made the
    program stop; exit with EXIT_NODE_HARDWARE afterwards."""
    start()
    if node is None:
        node = _state["node"] if int(rank) == _state["rank"] else ""
    if not node:
        raise ValueError("sigma.blame: name the node of another rank")
    _write("blame-", int(rank), {"rank": int(rank), "node": node, "attempt": _attempt()})
