"""tap.py -- TAP output for the Python tests: one `ok N - what` line per
check (a failed one preceded by up to 15 `# ` lines of detail), then the
plan line `1..N` and an exit status that says whether any check failed."""
import sys

_n = _failed = 0


def check(cond, what, detail=""):
    global _n, _failed
    _n += 1
    if not cond:
        _failed += 1
        for line in str(detail).splitlines()[-15:]:
            print(f"# {line}")
    print(f"{'' if cond else 'not '}ok {_n} - {what}", flush=True)


def done():
    """Prints the plan and exits: 1 when a check failed."""
    print(f"1..{_n}")
    sys.exit(1 if _failed else 0)
