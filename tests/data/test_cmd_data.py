"""`cvl-host data CONFIG [--grid FILE] [--json]` end to end (TAP)."""
import json
import os
import subprocess
import sys
import tempfile

host = sys.argv[1]
n = 0
failed = 0


def check(ok, what):
    global n, failed
    n += 1
    failed += not ok
    print(("ok" if ok else "not ok") + " %d - %s" % (n, what))


with tempfile.TemporaryDirectory() as d:
    cfg = os.path.join(d, "cnn.json")
    with open(cfg, "w") as f:
        json.dump({"dataset": {"format": "idx"}, "input_shape": [1, 28, 28], "val_split": 0.1, "seed": 1,
                   "train_batch_size": 16, "model": {"owned": "by the pipeline"},
                   "transforms": [{"name": "random_crop", "pad": 2}, {"name": "hflip", "p": 0.5},
                                  {"name": "normalize", "mean": "auto"}]}, f)
    grid = os.path.join(d, "grid.png")
    r = subprocess.run([host, "data", cfg, "--grid", grid, "--json"], capture_output=True, text=True)
    check(r.returncode == 0, "data --json exits 0 (%s)" % r.stderr.strip())
    out = json.loads(r.stdout) if r.returncode == 0 else {}
    tr = out.get("train", {})
    check(tr.get("size") == 54000 and out.get("val", {}).get("size") == 6000 and out.get("test", {}).get("size") == 10000,
          "split sizes 54000/6000/10000")
    check(sum(tr.get("class_counts", [])) == 54000 and out.get("test", {}).get("class_counts") == [1000] * 10,
          "class counts add up; test has 1000 per class")
    check(abs(tr.get("mean", [0])[0] - 0.286) < 3e-3 and abs(tr.get("std", [0])[0] - 0.353) < 3e-3, "mean/std")
    with open(grid, "rb") as f:
        check(f.read(8) == b"\x89PNG\r\n\x1a\n", "grid is a PNG")
    with open(grid + ".txt") as f:
        check(len(f.read().splitlines()) == 16, "sidecar lists 16 tiles")
    r = subprocess.run([host, "data", cfg], capture_output=True, text=True)
    check(r.returncode == 0 and "train    54000 samples" in r.stdout, "text report")
    bad = os.path.join(d, "bad.json")
    with open(bad, "w") as f:
        json.dump({"dataset": {"format": "idx", "root": "/nonexistent"}}, f)
    r = subprocess.run([host, "data", bad], capture_output=True, text=True)
    check(r.returncode == 1 and r.stderr == "cvl-host: %s: dataset.root: /nonexistent: no such directory\n" % bad,
          "missing root: exit 1, one line: %r" % r.stderr)
    r = subprocess.run([host, "data"], capture_output=True, text=True)
    check(r.returncode == 2, "no config: usage, exit 2")

print("1..%d" % n)
sys.exit(1 if failed else 0)
