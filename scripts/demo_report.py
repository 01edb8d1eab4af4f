#!/usr/bin/python3
"""The demo's live event lines and its closing report (scripts/demo.sh).

  demo_report.py events < new ledger lines         one readable line per event that matters to the story
  demo_report.py summary --ledger L --job J --train T --plot PNG --submitted S --ended E --kill-step K
                         --kill-time KT --requeues R --checkpoints C --nodes "n1 n2 ..."

Everything comes from what sigma wrote: the event ledger (JSON lines), sigma-train's per-step log (JSON lines,
appended by every attempt) and the figures the demo measured itself (submission, end, the kill).
"""
import argparse
import datetime
import json
import sys


def epoch(rfc3339):
    return datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def drained_node(event):
    """The node a node_drained event names: the supervisor's say which; the health check drains its own host."""
    return event.get("details", {}).get("node") or event["host"]


def describe(event):
    """One line for an event worth showing live, else None."""
    name, host, d = event["event"], event["host"], event.get("details", {})
    if name == "job_prolog":
        verdict = d.get("verdict", "?")
        if verdict == "pass":
            return f"preflight {host}: pass ({d.get('level')} level, burn-in {d.get('burn_in_s', 0):.1f}s)"
        if verdict == "cached":
            return f"preflight {host}: cached pass ({d.get('level')} level, {d.get('prolog_s', 0) * 1000:.0f} ms)"
        return f"preflight {host}: {verdict.upper()} {d.get('reason', '')}"
    if name == "node_drained":
        return f"DRAINED {drained_node(event)}: {d.get('reason', '')}"
    if name == "supervise_started":
        return (f"supervisor: {len(d.get('nodes', []))} nodes ({','.join(d.get('nodes', []))}), "
                f"training on {d.get('width')}, {d.get('spares')} spare")
    if name == "step_started":
        return f"supervisor: attempt {d.get('attempt')} on {','.join(d.get('nodes', []))}"
    if name == "step_failed":
        return (f"step failed: class {d.get('class')}, rule {d.get('rule')} ({d.get('evidence') or d.get('fault_code')}),"
                f" last step {d.get('last_step')} -> {d.get('next')}")
    if name == "recovered":
        return (f"recovered: resumed at step {d.get('resumed_at_step')}, {d.get('fault_to_first_step_s', 0):.1f}s from"
                f" detection to the first new step, {d.get('steps_redone')} step(s) redone")
    if name == "supervise_ended":
        return f"supervisor: ended with exit {d.get('exit_code')} ({d.get('reason')}), {d.get('restarts')} restart(s)"
    return None


def events():
    for line in sys.stdin:
        text = describe(json.loads(line))
        if text:
            print(f"   [{datetime.datetime.now():%H:%M:%S}] {text}", flush=True)


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def attempts(steps):
    """Split the appended per-step log into attempts: a new attempt starts where the step number goes back."""
    runs, current = [], []
    for s in steps:
        if current and s["step"] <= current[-1]["step"]:
            runs.append(current)
            current = []
        current.append(s)
    return runs + [current] if current else runs


def plot(path, runs, marks):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 5))
    # Later attempts are drawn thinner on top: a resumed attempt retraces the steps it redoes exactly (same
    # weights from the checkpoint, same data), so the earlier attempt shows as the wider band beneath it.
    for i, run in enumerate(runs):
        ax.plot([s["step"] for s in run], [s["loss"] for s in run], label=f"attempt {i + 1} (steps {run[0]['step']}-"
                f"{run[-1]['step']})", linewidth=max(1.0, 3.5 - 1.2 * i), alpha=0.8)
    top = max(s["loss"] for run in runs for s in run)
    bottom = min(s["loss"] for run in runs for s in run)
    for i, (step, text, colour) in enumerate(marks):
        ax.axvline(step, color=colour, linestyle="--", linewidth=1)
        y = top - (i % 2) * 0.45 * (top - bottom)
        ax.annotate(text, (step, y), rotation=90, va="top", ha="right", fontsize=8, color=colour)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title("sigma demo: MoE training through a bad node and a crashed rank")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def summary(a):
    ledger = [e for e in read_jsonl(a.ledger) if e.get("job_id") == a.job]
    by = lambda name: [e for e in ledger if e["event"] == name]
    runs = attempts(read_jsonl(a.train))
    if not runs:
        sys.exit("demo_report.py: no training steps in " + a.train)
    # The final model is made of the last attempt that computed each step.
    final = {}
    for run in runs:
        for s in run:
            final[s["step"]] = s
    computed = sum(len(run) for run in runs)
    wall = a.ended - a.submitted
    useful = sum(s["step_seconds"] for s in final.values())

    validated = sorted({e["host"] for e in by("job_prolog") if e["details"].get("verdict") in ("pass", "cached")})
    drained = by("node_drained")
    drained_nodes = [drained_node(e) for e in drained]
    excluded_only = sorted({n for e in by("supervise_ended") for n in e["details"].get("excluded", [])} -
                           set(drained_nodes))
    excluded = [f"{drained_node(e)} (drained: {e['details'].get('reason', '')})" for e in drained] + \
               [f"{n} (left by sigma-launch after its rank was killed; not drained)" for n in excluded_only]
    restarts = max([e["details"].get("restarts", 0) for e in by("supervise_ended")] or [0])
    starts = by("supervise_started")
    rows = [("nodes", " ".join(a.nodes.split())),
            ("nodes validated by preflight", f"{len(validated)}: {' '.join(validated)}"),
            ("nodes excluded", f"{len(excluded)}: " + "; ".join(excluded) if excluded else "0")]
    rows.append(("requeues (Slurm)", str(a.requeues)))
    rows.append(("restarts on a spare (sigma-launch)", str(restarts)))
    if drained and len(starts) > 0:
        # The bad node was drained by the prolog; the job ran again once Slurm requeued it elsewhere.
        after = [epoch(s["time"]) for s in starts if epoch(s["time"]) > epoch(drained[0]["time"])]
        if after:
            rows.append(("recovery: bad node drained -> job running elsewhere",
                         f"{after[0] - epoch(drained[0]['time']):.1f}s (requeue)"))
    for e in by("step_failed"):
        rows.append(("recovery: rank killed -> failure classified",
                     f"{epoch(e['time']) - a.kill_time:.1f}s ({e['details'].get('class')}, rule {e['details'].get('rule')})"))
    for e in by("recovered"):
        d = e["details"]
        rows.append(("recovery: detection -> first new step", f"{d['fault_to_first_step_s']:.1f}s, resumed at step "
                     f"{d['resumed_at_step']}, {d['steps_redone']} step(s) redone"))
    rows.append(("training steps computed / in the final model", f"{computed} / {len(final)}"))
    rows.append(("goodput (final model's step time / wall time)",
                 f"{100 * useful / wall:.0f}% ({useful:.0f}s of {wall:.0f}s from submission to the end)"))
    first, last = runs[0][0], runs[-1][-1]
    rows.append(("loss", f"{first['loss']:.3f} at step {first['step']} -> {last['loss']:.3f} at step {last['step']}"))
    rows.append(("checkpoints verified", a.checkpoints))

    width = max(len(k) for k, _ in rows)
    print(f"{'':-<{width + 50}}")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print(f"{'':-<{width + 50}}")

    marks = []
    if drained:
        marks.append((0, f"{drained_nodes[0]} drained by preflight, job requeued", "tab:red"))
    if a.kill_step >= 0:
        marks.append((a.kill_step, "rank 1 killed (kill -9)", "tab:red"))
    for e in by("recovered"):
        marks.append((e["details"]["resumed_at_step"], "restarted on the spare, resumed from checkpoint", "tab:green"))
    plot(a.plot, runs, marks)
    print(f"loss plot: {a.plot}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("events")
    s = sub.add_parser("summary")
    s.add_argument("--ledger", required=True)
    s.add_argument("--job", required=True)
    s.add_argument("--train", required=True)
    s.add_argument("--plot", required=True)
    s.add_argument("--submitted", type=float, required=True)
    s.add_argument("--ended", type=float, required=True)
    s.add_argument("--kill-step", type=int, required=True)
    s.add_argument("--kill-time", type=float, required=True)
    s.add_argument("--requeues", type=int, required=True)
    s.add_argument("--checkpoints", required=True)
    s.add_argument("--nodes", required=True)
    a = parser.parse_args()
    events() if a.command == "events" else summary(a)


if __name__ == "__main__":
    main()
