"""Does a job's ledger tell the expected story? Reads the job's events (`sigma-ledger show LEDGER --job J --json`,
one JSON object a line, in ledger order) on stdin; the arguments are the expected events in order, each
`event` or `event{key=value,...}` where a key is a field of the event's details (or `host`). Other events may
come between the expected ones. Prints the whole story with the matched events marked; exit 1 when an
expected event is missing or out of order. Python standard library only.

    sigma-ledger show events.jsonl --job 7 --json | ledger_story.py 'step_failed{next=restart}' recovered
"""
import json
import re
import sys

PATTERN = re.compile(r"^([a-z_]+)(?:\{(.*)\})?$")


def parse(expected):
    match = PATTERN.match(expected)
    if not match:
        sys.exit(f"ledger_story.py: '{expected}': expected event or event{{key=value,...}}")
    fields = dict(item.split("=", 1) for item in match.group(2).split(",")) if match.group(2) else {}
    return match.group(1), fields


def matches(event, name, fields):
    if event.get("event") != name:
        return False
    details = event.get("details") or {}
    for key, value in fields.items():
        actual = event.get(key) if key == "host" else details.get(key)
        if str(actual).lower() != value.lower():
            return False
    return True


def main():
    events = [json.loads(line) for line in sys.stdin if line.strip()]
    wanted = [parse(arg) for arg in sys.argv[1:]]
    marked, position = set(), 0
    for index, event in enumerate(events):
        if position < len(wanted) and matches(event, *wanted[position]):
            marked.add(index)
            position += 1
    for index, event in enumerate(events):
        details = json.dumps(event.get("details", {}), separators=(",", ":"))
        print(f"{'*' if index in marked else ' '} {event.get('time', '')} {event.get('host', ''):<4} "
              f"{event.get('component', ''):<11} {event.get('event', ''):<20} {details[:150]}")
    if position < len(wanted):
        name, fields = wanted[position]
        print(f"ledger_story.py: missing (in this order): {sys.argv[1 + position]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
