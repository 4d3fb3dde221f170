"""`cvl-host data CONFIG [--grid FILE] [--json]` end to end (TAP)."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import check, done  # noqa: E402


host = sys.argv[1]


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

    # the resnet18s recipe (pad to 32x32) with a derived target: the model
    # input is the shape after the transforms
    mt = os.path.join(d, "multitask.json")
    with open(mt, "w") as f:
        json.dump({"dataset": {"format": "idx", "targets": [
                      {"name": "coarse", "as": "target", "categories": ["top", "bottom", "shoes", "bag"],
                       "from_label": ["top", "bottom", "top", "top", "top", "shoes", "top", "shoes", "bag", "shoes"]},
                      {"name": "price", "as": "numerical_target", "from_label": [9.5, 20, 25, 30, 60, 15, 20, 45, 35, 50]}]},
                   "input_shape": [1, 32, 32], "val_split": 0.1, "train_batch_size": 9,
                   "transforms": [{"name": "pad", "pad": 2}, {"name": "hflip", "p": 0.5},
                                  {"name": "normalize", "mean": 0.2860, "std": 0.3530}]}, f)
    grid2 = os.path.join(d, "grid2.png")
    r = subprocess.run([host, "data", mt, "--json", "--grid", grid2], capture_output=True, text=True)
    check(r.returncode == 0, "multi-task config: exit 0 (%s)" % r.stderr.strip())
    out = json.loads(r.stdout) if r.returncode == 0 else {}
    check(out.get("input_shape") == [1, 32, 32] and out.get("decode_shape") == [1, 28, 28] and
          out.get("inputs") == [{"name": "image", "kind": "image", "shape": [1, 32, 32]}],
          "input 'image' is [1,32,32] after pad 2, decoded at [1,28,28]")
    check([(t["name"], t["kind"]) for t in out.get("targets", [])] == [("label", "class"), ("coarse", "class"), ("price", "numerical")],
          "targets label, coarse, price")
    check(out.get("eval_split") == "test", "eval uses the t10k test split")
    with open(grid2, "rb") as f:
        png = f.read()
    w, h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    check((w, h) == (3 * 66, 3 * (64 + 14)), "the grid's tiles are 32x32 images (%dx%d)" % (w, h))
    r = subprocess.run([host, "data", mt], capture_output=True, text=True)
    check(r.returncode == 0 and "inputs   image image [1,32,32]" in r.stdout and
          "targets  label class (10), coarse class (4), price numerical (1)" in r.stdout and
          "eval   the test split" in r.stdout, "text report lists inputs, targets and the eval split")
    bad = os.path.join(d, "bad2.json")
    with open(bad, "w") as f:
        json.dump({"dataset": {"format": "idx"}, "input_shape": [1, 28, 28], "transforms": [{"name": "pad", "pad": 2}]}, f)
    r = subprocess.run([host, "data", bad], capture_output=True, text=True)
    check(r.returncode == 1 and r.stderr.startswith("cvl-host: %s: input_shape [1,28,28] disagrees with the shape after the transforms, [1,32,32]" % bad)
          and r.stderr.count("\n") == 1, "input_shape mismatch: one line, exit 1: %r" % r.stderr)

done()
