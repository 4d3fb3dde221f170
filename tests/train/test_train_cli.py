#!/usr/bin/env python3
"""`cvl-host train`: config errors (each message checked), hostile dataset
files, and a short real training run on Fashion-MNIST whose loss falls.
Speaks TAP. usage: test_train_cli.py CVL_HOST"""
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import check, done  # noqa: E402


HOST = sys.argv[1]
SOURCE = sys.argv[2] if len(sys.argv) > 2 else None
FMNIST = "/usr/share/datasets/fashion-mnist"


def train(cfg, *extra, name="cfg.json", timeout=600):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(cfg if isinstance(cfg, str) else json.dumps(cfg))
    p = subprocess.run([HOST, "train", path, "--quiet", "--run-dir", os.path.join(tmp, "run"), *extra],
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.strip()


def expect_error(cfg, fragment, what, *extra):
    rc, out, err = train(cfg, *extra)
    lines = err.splitlines()
    check(rc == 1 and len(lines) == 1 and fragment in err, what, f"rc={rc}\n{err}")


tmp = tempfile.mkdtemp(prefix="cvl-train-")
try:
    cfg = os.path.join(tmp, "cfg.json")
    expect_error({"lrr": 0.1}, f"{cfg}: lrr is not a known key (did you mean 'lr'?)", "unknown key, closest suggested")
    expect_error({"dataset": {"rot": "/x"}}, f"{cfg}: dataset.rot: unknown key (did you mean 'root'?)",
                 "unknown nested key")
    expect_error({"epochs": "two"}, f"{cfg}: epochs must be an integer, got a string", "wrong type")
    expect_error({"epochs": 0}, f"{cfg}: epochs must be in [1, 1e+06], got 0", "out of range")
    expect_error({"lr_schedule": {"name": "cosin"}},
                 f"{cfg}: lr_schedule.name must be one of constant|step|cosine|one_cycle, got 'cosin'", "bad choice")
    expect_error({"dataset": 3}, f"{cfg}: dataset must be an object, got an integer", "section of the wrong type")
    expect_error({"image_backbone": "resnet19s"}, "no encoder named 'resnet19s' (did you mean 'resnet18s'?)",
                 "unknown component, closest suggested")
    expect_error({"image_backbone": 7}, f"{cfg}: image_backbone must be a component name or {{\"name\": ..., params}}, got an integer",
                 "component of the wrong type")
    expect_error({}, "encoder 'cnn' has no parameter 'widht' (did you mean 'width'?)",
                 "--set into a component's parameters is checked by the component", "--set", "image_backbone.widht=3")
    expect_error({}, "encoder 'cnn': parameter 'width': expected int, got a number", "a component parameter of the wrong type",
                 "--set", "image_backbone.width=1.5")
    expect_error({}, "--set lr: expected key=value", "--set without a value", "--set", "lr")
    expect_error('{"lr": 0.1,,}', f"{cfg}:1:", "malformed JSON names line and column")
    expect_error({}, f"{cfg}: dataset.root: /nonexistent: no such directory", "missing dataset root",
                 "--set", "dataset.root=/nonexistent")
    expect_error({}, f"{cfg}: input_shape [1,32,32] disagrees with", "input shape against the data",
                 "--set", "input_shape=[1,32,32]")
    expect_error({"transforms": [{"name": "normalize", "mean": [0.1, 0.2]}]}, f"{cfg}: transforms[0].mean: 2 values for 1 channels (give 1 or 1)",
                 "normalisation of the wrong length")
    expect_error({"inputs": [{"name": "imag"}]}, f"{cfg}: inputs[0].name: the dataset has no input 'imag' (did you mean 'image'?)",
                 "a model input the dataset lacks, closest suggested")
    expect_error({"targets": [{"name": "label", "hed": "classification"}]},
                 f"{cfg}: targets[0].hed is not a known key (did you mean 'head'?)", "an unknown key in a target")
    expect_error({"targets": [{"name": "label", "loss": "crossentropy"}]},
                 "no loss named 'crossentropy' (did you mean 'cross_entropy'?)", "an unknown loss in a target")
    expect_error({"aggregator": "concatt"}, "no aggregator named 'concatt' (did you mean 'concat'?)", "an unknown aggregator")
    expect_error({"checkpoint_metric": "accuracy"}, f"{cfg}: checkpoint_metric must be val_loss or val_<metric>",
                 "checkpoint metric without val_")
    rc, out, err = subprocess.run([HOST, "train", os.path.join(tmp, "missing.json")], capture_output=True, text=True).returncode, "", ""
    check(rc == 1, "a missing config file fails")
    p = subprocess.run([HOST, "train", tmp], capture_output=True, text=True)
    check(p.returncode == 1 and p.stderr.strip() == f"cvl-host: {tmp}: not a regular file", "a directory as config", p.stderr)
    # Output directories that cannot be made: one line naming the path, for train and check alike.
    blocker = os.path.join(tmp, "a-file")
    open(blocker, "w").close()
    expect_error({}, f"cvl-host: {blocker}: exists and is not a directory", "a run dir below a plain file",
                 "--run-dir", f"{blocker}/runs")
    p = subprocess.run([HOST, "check", cfg, "--out", f"{blocker}/x/y"], capture_output=True, text=True)
    check(p.returncode == 1 and p.stderr.strip() == f"cvl-host: {blocker}: exists and is not a directory",
          "check --out below a plain file", p.stderr)

    # Hostile dataset files: a copy of Fashion-MNIST's test files, broken one way at a time.
    root = os.path.join(tmp, "data")
    os.mkdir(root)
    with gzip.open(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")) as f:
        images = f.read()
    with gzip.open(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = f.read()

    def put(name, data, gz=True):
        for ext in ("", ".gz"):
            p = os.path.join(root, name + ext)
            if os.path.exists(p):
                os.remove(p)
        if gz:
            with gzip.open(os.path.join(root, name + ".gz"), "wb") as f:
                f.write(data)
        else:
            with open(os.path.join(root, name), "wb") as f:
                f.write(data)

    def reset():
        put("train-images-idx3-ubyte", images, gz=False)  # raw files work too
        put("train-labels-idx1-ubyte", labels)
        put("t10k-images-idx3-ubyte", images)
        put("t10k-labels-idx1-ubyte", labels)

    base = {"dataset": {"root": root}, "image_backbone": "mlp", "head": {"name": "classification", "layer_name": "fc3"},
            "train_steps_per_epoch": 2, "checks": {"enabled": False}, "val_split": 0, "workers": 0}
    reset()
    rc, out, err = train(base)
    check(rc == 0, "the intact copy trains (raw train images, gzipped labels)", err)
    img = os.path.join(root, "train-images-idx3-ubyte")
    put("train-images-idx3-ubyte", images[:-100], gz=False)
    expect_error(base, f"{img}: dimensions disagree with the file size (header says 7840000 bytes of data, file has 7839900)",
                 "truncated IDX")
    put("train-images-idx3-ubyte", b"\x00\x00\x08\x01" + images[4:], gz=False)
    expect_error(base, f"{img}: wrong magic 0x00000801 (want 0x00000803", "wrong magic")
    reset()
    lab = os.path.join(root, "train-labels-idx1-ubyte.gz")
    bad = bytearray(labels)
    bad[8 + 17] = 12
    put("train-labels-idx1-ubyte", bytes(bad))
    expect_error(base, f"{lab}: record 17 (offset 25): label 12 out of range [0,10)", "label out of range")
    reset()
    with open(os.path.join(root, "train-labels-idx1-ubyte.gz"), "rb") as f:
        gzdata = f.read()
    with open(os.path.join(root, "train-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(gzdata[: len(gzdata) // 2])
    rc, out, err = train(base)
    check(rc == 1 and len(err.splitlines()) == 1 and lab in err and ("gzip" in err or "dimensions say" in err),
          "truncated gzip", err)
    put("train-labels-idx1-ubyte", struct.pack(">II", 2049, 5) + bytes([1, 2, 3, 4, 5]))
    expect_error(base, f"{lab}: 5 labels for 10000 images", "label count disagrees with the images")

    # A short real training run: the loss falls, the run directory is complete.
    rc, out, err = train({"image_backbone": "mlp", "head": {"name": "classification", "layer_name": "fc3"},
                          "optimizer_name": {"name": "sgd", "momentum": 0.9},
                          "train_steps_per_epoch": 60, "log_every": 10, "seed": 1})
    check(rc == 0 and "test accuracy" in out, "mlp trains 60 steps on Fashion-MNIST", err)
    run = os.path.join(tmp, "run")
    lines = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
    steps = [l for l in lines if l.get("split") == "train"]
    check(all({"step", "epoch", "loss"} <= set(l) for l in lines), "every metrics line has step, epoch and loss")
    check(steps[-1]["loss"] < 0.6 * steps[0]["loss"], f"the loss falls: {steps[0]['loss']:.3f} -> {steps[-1]['loss']:.3f}")
    val = [l for l in lines if l.get("split") == "val"]
    check(len(val) == 1 and 0 < val[0]["accuracy"] <= 1 and val[0]["loss"] > 0, "one validation line with loss and accuracy",
          val)
    test = [l for l in lines if l.get("split") == "test"]
    check(test and test[-1]["accuracy"] > 0.70, f"test accuracy after 60 steps > 0.70 ({test[-1]['accuracy'] if test else None})")
    resolved = json.load(open(os.path.join(run, "config.json")))
    check(resolved["lr"] == 0.05 and resolved["dataset"]["root"] == FMNIST and resolved["image_backbone"] == "mlp",
          "config.json holds the resolved config, defaults included")
    # Vulkan (lavapipe here): the mlp trains; a model with an op the Vulkan
    # backend lacks is refused by name; a bad device spec is an error.
    os.environ["VK_DRIVER_FILES"] = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"
    mlp = {"image_backbone": "mlp", "head": {"name": "classification", "layer_name": "fc3"},
           "train_steps_per_epoch": 20, "log_every": 10, "val_batch_size": 500, "val_split": 0,
           "val_steps_per_epoch": 1, "optimizer_name": {"name": "sgd", "momentum": 0.9},
           "checks": {"overfit_steps": 8, "overfit_factor": 1.05}}
    rc, out, err = train(mlp, "--device", "vulkan")
    check(rc == 0 and "test accuracy" in out, "the mlp trains on Vulkan (lavapipe), quality checks included", err)
    rc, out, err = train(mlp, "--device", "tpu")
    check(rc == 1 and "tpu" in err and len(err.splitlines()) == 1, "an unknown device is one error line", err)
    if SOURCE:
        table = subprocess.run([HOST, "config-docs"], capture_output=True, text=True).stdout
        with open(os.path.join(SOURCE, "docs", "config.md")) as f:
            doc = f.read()
        check(table.strip() in doc, "docs/config.md carries the table `cvl-host config-docs` prints (regenerate it)")
finally:
    shutil.rmtree(tmp)

done()
