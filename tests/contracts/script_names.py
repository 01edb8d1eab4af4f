"""Every ledger event name that sigma's scripts match on (tests, the fault matrix, the demo, the templates) is one
that sigma writes: the names come from `sigma-ledger schema`, so a renamed or misspelt event fails here instead
of silently matching nothing. Usage: script_names.py SIGMA_LEDGER_BIN SOURCE_DIR"""
import json
import pathlib
import re
import subprocess
import sys

# Where a script names an event: `--event NAME`, the shell helper `events NAME`, a story step `NAME{...}` or
# 'NAME' (tests/fault-matrix/ledger_story.py), and Python comparisons on the "event" field.
PATTERNS = [
    re.compile(r"--event\s+([a-z][a-z_]+)\b"),
    re.compile(r"\bevents\s+([a-z]+_[a-z_]+)\b"),
    re.compile(r"\b([a-z]+_[a-z_]+)\{[a-z_]+="),
    re.compile(r"""\[["']event["']\]\s*==\s*["']([a-z_]+)["']"""),
    re.compile(r"""\bby\(["']([a-z_]+)["']\)"""),
    re.compile(r"""^[ \t]*story[ \t]+((?:'[^']*'|"[^"]*"|[a-z_]+|\\\n|[ \t])+)""", re.M),
]
STORY_WORD = re.compile(r"""(?:^|\s|['"])([a-z][a-z_]*)(?=[{'"\s]|$)""")
SCRIPT_GLOBS = ["tests/**/*.sh", "tests/**/*.py", "scripts/*.sh", "scripts/*.py", "sbatch-templates/*.sbatch"]
# Names given to `sigma-ledger append` by tests of the tool itself.
NOT_EVENTS = {"e"}


def names_in(text):
    found = set()
    for pattern in PATTERNS[:-1]:
        found.update(pattern.findall(text))
    for story in PATTERNS[-1].findall(text):
        found.update(STORY_WORD.findall(story))
    return found - NOT_EVENTS


def main():
    ledger_bin, source = sys.argv[1], pathlib.Path(sys.argv[2])
    schema = json.loads(subprocess.run([ledger_bin, "schema"], check=True, capture_output=True, text=True).stdout)
    known = set(schema["ledger_events"])
    used, unknown = set(), []
    for glob in SCRIPT_GLOBS:
        for path in sorted(source.glob(glob)):
            for name in names_in(path.read_text(errors="replace")):
                used.add(name)
                if name not in known:
                    unknown.append(f"{path.relative_to(source)}: {name}")
    if unknown:
        sys.exit("script_names.py: not ledger events (see `sigma-ledger schema`):\n  " + "\n  ".join(unknown))
    # The patterns must keep finding the scripts' names: a change that hid them all would pass vacuously.
    if len(used) < 20:
        sys.exit(f"script_names.py: found only {len(used)} event names in the scripts: {sorted(used)}")
    print(f"script_names.py: {len(used)} event names used by scripts, all in the schema")


if __name__ == "__main__":
    main()
