#!/usr/bin/env python3
"""The training pipeline end to end on Fashion-MNIST, on the CPU: the run
directory (checkpoints, grid, report, results), resume equals an
uninterrupted run bit for bit, Ctrl-C, PyTorch weights through --weights and
a name mapping (eval matches PyTorch's own test metrics), predict, the
quality checks, MLflow's file store, a multi-task model, NaN and early
stopping. Speaks TAP.  usage: test_pipeline.py CVL_HOST SOURCE_ROOT"""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import check, done  # noqa: E402


HOST, SOURCE = sys.argv[1], sys.argv[2]
FIX = os.path.join(SOURCE, "tests", "fixtures", "models")
FMNIST = "/usr/share/datasets/fashion-mnist"


def write(name, obj):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def host(*args, timeout=900):
    p = subprocess.run([HOST, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.strip()


def one_error(rc, err, fragment, what):
    check(rc == 1 and len(err.splitlines()) == 1 and fragment in err, what, f"rc={rc}\n{err}")


# ---- safetensors without torch: read and write the plain layout
def st_read(path):
    raw = open(path, "rb").read()
    (hn,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hn])
    meta = header.pop("__metadata__", {})
    return {k: (v["dtype"], v["shape"], raw[8 + hn + v["data_offsets"][0]: 8 + hn + v["data_offsets"][1]])
            for k, v in header.items()}, meta


def st_write(path, tensors, meta=None):
    header, blobs, off = {}, [], 0
    for k, (dt, shape, blob) in tensors.items():
        header[k] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    header["__metadata__"] = meta or {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def torch_state_dict(fixture):
    """The PyTorch state_dict of a model fixture, as torch_ref.py --save-weights writes it."""
    t, _ = st_read(os.path.join(FIX, fixture))
    return {k[len("param."):]: v for k, v in t.items() if k.startswith("param.")}


# ---- PNG files of Fashion-MNIST test images, without any imaging library
def idx_images(name):
    import gzip
    raw = gzip.open(os.path.join(FMNIST, name)).read()
    count, rows, cols = struct.unpack(">III", raw[4:16])
    return raw[16:], rows, cols


def png_gray(path, pixels, w, h):
    rows = b"".join(b"\x00" + pixels[r * w:(r + 1) * w] for r in range(h))
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def png_size(path):
    raw = open(path, "rb").read()
    ok = raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR"
    w, h = struct.unpack(">II", raw[16:24])
    # every IDAT inflates
    pos, data = 8, b""
    while pos < len(raw):
        (ln,) = struct.unpack(">I", raw[pos:pos + 4])
        tag = raw[pos + 4:pos + 8]
        if tag == b"IDAT":
            data += raw[pos + 8:pos + 8 + ln]
        pos += 12 + ln
    inflated = zlib.decompress(data)
    return ok, w, h, len(inflated)


tmp = tempfile.mkdtemp(prefix="cvl-pipeline-")
try:
    cnn = json.load(open(os.path.join(SOURCE, "examples", "fashion_mnist", "cnn.json")))
    small = dict(cnn, epochs=2, train_steps_per_epoch=8, val_split=0.05, val_steps_per_epoch=2, log_every=4,
                 workers=1)
    small_path = write("small.json", small)
    # an mlp for what does not depend on the model (cheap under the sanitizers)
    quick = dict(json.load(open(os.path.join(SOURCE, "examples", "fashion_mnist", "mlp.json"))), epochs=2,
                 train_steps_per_epoch=6, val_split=0.05, val_steps_per_epoch=1, log_every=2, workers=1,
                 optimizer_name={"name": "sgd", "momentum": 0.9})
    quick_path = write("quick.json", quick)

    # ---- a short run: the run directory is complete
    run = os.path.join(tmp, "full")
    rc, out, err = host("train", small_path, "--run-dir", run)
    check(rc == 0 and "test accuracy" in out, "a short cnn run trains", err)
    for check_name in ("data", "grid", "roundtrip", "overfit"):
        check(f"check {check_name}: " in err, f"the {check_name} quality check ran before training", err)
    for f in ("config.json", "metrics.jsonl", "results.json", "report.html", "augmented_batch.png",
              "checkpoints/last.safetensors", "checkpoints/best.safetensors"):
        check(os.path.isfile(os.path.join(run, f)), f"the run directory holds {f}")
    lines = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
    check(all({"step", "epoch", "loss"} <= set(l) for l in lines), "every metrics line has step, epoch and loss")
    val = [l for l in lines if l["split"] == "val"]
    check(len(val) == 2 and all("accuracy" in l and "top5" in l for l in val), "a validation line per epoch", val)
    res = json.load(open(os.path.join(run, "results.json")))
    m = res["metrics"]
    conf = m["confusion"]
    check(res["split"] == "test" and len(conf) == 10 and sum(map(sum, conf)) == 10000,
          "results.json: a 10x10 confusion matrix over the 10000 test images")
    check(abs(sum(conf[i][i] for i in range(10)) / 10000 - m["accuracy"]) < 1e-9 and len(m["per_class_accuracy"]) == 10,
          "accuracy is the confusion matrix's trace; per-class accuracy for 10 classes")
    ok, w, h, nbytes = png_size(os.path.join(run, "augmented_batch.png"))
    check(ok and w > 28 and h > 28 and nbytes >= w * h, f"the augmented grid is a PNG that decodes ({w}x{h})")
    html = open(os.path.join(run, "report.html")).read()
    check(html.count("<svg") >= 2 and "polyline" in html and "ankle boot" in html and "data:image/png;base64," in html,
          "report.html: plots as inline SVG, the confusion matrix with class names, the grid embedded")
    st, meta = st_read(os.path.join(run, "checkpoints", "last.safetensors"))
    check("conv1.weight" in st and "bn1.num_batches_tracked" in st and "optim.fc2.weight.momentum_buffer" in st and
          meta.get("cvl.step") == "16" and json.loads(meta["cvl.config"])["lr"] == 0.05,
          "last.safetensors: PyTorch names, optimizer state, step and config in the metadata", sorted(meta))
    check(st["conv1.weight"][0] == "F32" and st["conv1.weight"][1] == [32, 1, 3, 3], "conv1.weight is F32 OIHW")

    # ---- resume: stopped mid-epoch and at an epoch's end, both equal the uninterrupted run
    for stop in (5, 8):
        part = os.path.join(tmp, f"part{stop}")
        rc, out, err = host("train", small_path, "--run-dir", part, "--stop-after", str(stop), "--set",
                            "checks.enabled=false")  # the checks train a copy: the run's state is the same
        check(rc == 0 and "stopped after" in out and "--resume" in out, f"--stop-after {stop} stops with a checkpoint", err)
        rc, out, err = host("train", small_path, "--resume", part)
        check(rc == 0 and f"resuming {part} at step {stop}" in err, f"resume from step {stop}", err)
        a, _ = st_read(os.path.join(run, "checkpoints", "last.safetensors"))
        b, _ = st_read(os.path.join(part, "checkpoints", "last.safetensors"))
        same = a.keys() == b.keys() and all(a[k] == b[k] for k in a)
        check(same, f"resumed at step {stop}: every weight and optimizer tensor bit-identical to the uninterrupted run",
              [k for k in a if a[k] != b.get(k)][:5])
        steps = [l["step"] for l in map(json.loads, open(os.path.join(part, "metrics.jsonl"))) if l["split"] == "train"]
        check(steps == sorted(steps) and len(steps) == len(set(steps)), "the resumed metrics.jsonl has no repeated steps",
              steps)

    # ---- Ctrl-C saves a checkpoint and exits cleanly
    sig = os.path.join(tmp, "sigint")
    p = subprocess.Popen([HOST, "train", quick_path, "--run-dir", sig, "--set", "train_steps_per_epoch=400",
                          "--set", "log_every=1", "--set", "checks.enabled=false"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    mj = os.path.join(sig, "metrics.jsonl")
    while time.time() < deadline and not (os.path.exists(mj) and os.path.getsize(mj) > 0):
        time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=300)
    st, meta = st_read(os.path.join(sig, "checkpoints", "last.safetensors"))
    check(p.returncode == 130 and "stopped after" in out and int(meta["cvl.step"]) >= 1,
          f"Ctrl-C: exit 130 with a checkpoint at step {meta.get('cvl.step')}", err)

    # ---- PyTorch weights: eval matches PyTorch's own test metrics
    for model, cfgname in (("mlp", "mlp.json"), ("cnn", "cnn.json")):
        ref = json.load(open(os.path.join(FIX, f"{model}.eval.json")))
        pt = os.path.join(tmp, f"{model}_torch.safetensors")
        st_write(pt, torch_state_dict(f"{model}.safetensors"))
        rc, out, err = host("eval", os.path.join(SOURCE, "examples", "fashion_mnist", cfgname), "--weights", pt, "--json")
        got = json.loads(out) if rc == 0 else {}
        gm = got.get("metrics", {})
        check(rc == 0 and gm.get("accuracy") == ref["accuracy"] and abs(gm["loss"] - ref["loss"]) < 1e-4 * ref["loss"],
              f"{model}: eval --weights (a PyTorch state_dict) gives PyTorch's test accuracy {ref['accuracy']} and loss "
              f"{ref['loss']:.6f}", f"{err}\n{gm.get('accuracy')} {gm.get('loss')}")

    # a name mapping bridges other names: the head's layer under its default name
    ref = json.load(open(os.path.join(FIX, "cnn.eval.json")))
    mlp_ref = json.load(open(os.path.join(FIX, "mlp.eval.json")))
    mlp_cfg = json.load(open(os.path.join(SOURCE, "examples", "fashion_mnist", "mlp.json")))
    mapped = dict(mlp_cfg, head="classification", weights_map={"fc3.": "fc."})
    rc, out, err = host("eval", write("mapped.json", mapped), "--weights", os.path.join(tmp, "mlp_torch.safetensors"),
                        "--json")
    check(rc == 0 and json.loads(out)["metrics"]["accuracy"] == mlp_ref["accuracy"],
          "weights_map {\"fc3.\": \"fc.\"} loads the PyTorch file into a head named fc", err)
    rc, out, err = host("eval", write("unmapped.json", dict(mlp_cfg, head="classification")), "--weights",
                        os.path.join(tmp, "mlp_torch.safetensors"))
    one_error(rc, err, "tensor fc3.weight is not in the model (did you mean fc", "without the mapping: the tensor named")

    # hostile or mismatched weight files: one line naming the tensor
    sd = torch_state_dict("cnn.safetensors")
    cfg_cnn = os.path.join(SOURCE, "examples", "fashion_mnist", "cnn.json")

    def bad_weights(name, tensors, fragment, what):
        path = os.path.join(tmp, name)
        st_write(path, tensors)
        rc, out, err = host("eval", cfg_cnn, "--weights", path)
        one_error(rc, err, f"{path}: {fragment}", what)

    bad_weights("extra.st", dict(sd, **{"fc3.weight": sd["fc2.weight"]}), "tensor fc3.weight is not in the model",
                "an extra tensor")
    bad_weights("missing.st", {k: v for k, v in sd.items() if k != "bn2.running_var"},
                "tensor bn2.running_var is missing", "a missing tensor")
    bad_weights("shape.st", dict(sd, **{"fc2.weight": ("F32", [10, 64], sd["fc2.weight"][2][:2560])}),
                "tensor fc2.weight has shape (10, 64), the model's fc2.weight has (10, 128)", "a wrong shape")
    bad_weights("dtype.st", dict(sd, **{"fc2.bias": ("I32", [10], sd["fc2.bias"][2])}),
                "tensor fc2.bias is I32, the model's fc2.bias is F32", "a wrong dtype")
    trunc = os.path.join(tmp, "trunc.st")
    st_write(trunc, sd)
    with open(trunc, "r+b") as f:
        f.truncate(os.path.getsize(trunc) - 100)
    rc, out, err = host("eval", cfg_cnn, "--weights", trunc)
    one_error(rc, err, trunc, "a truncated weights file")

    # ---- predict: PNG files give PyTorch's predictions for the same weights
    pixels, rows, cols = idx_images("t10k-images-idx3-ubyte.gz")
    files = []
    for i in range(16):
        path = os.path.join(tmp, f"test{i}.png")
        png_gray(path, pixels[i * rows * cols:(i + 1) * rows * cols], cols, rows)
        files.append(path)
    rc, out, err = host("predict", cfg_cnn, "--weights", os.path.join(tmp, "cnn_torch.safetensors"), *files, "--json")
    top1 = [r["top"][0]["class"] for r in json.loads(out)] if rc == 0 else []
    check(top1 == ref["predictions"][:16], "predict on PNG files: PyTorch's top-1 for the same weights", f"{err}\n{top1}")
    rc, out, err = host("predict", run, files[0], "--top-k", "3")
    check(rc == 0 and out.count("/") >= 3 and files[0] in out, "predict RUN_DIR IMAGE: the top 3 named classes", out + err)
    rc, out, err = host("predict", run, os.path.join(tmp, "extra.st"))
    one_error(rc, err, "extra.st", "predict on a file that is not an image")

    # ---- eval of a run directory uses its best checkpoint and config
    rc, out, err = host("eval", run, "--json")
    got = json.loads(out) if rc == 0 else {}
    check(rc == 0 and got["weights"].endswith("best.safetensors") and got["metrics"]["accuracy"] == m["accuracy"],
          "eval RUN_DIR: the best checkpoint reproduces results.json", err)

    # ---- check alone; a model that cannot learn fails the overfit check
    chk = os.path.join(tmp, "chk")
    rc, out, err = host("check", quick_path, "--out", chk)
    check(rc == 0 and os.path.isfile(os.path.join(chk, "augmented_batch.png")) and err.count("check ") == 4,
          "cvl-host check runs the four checks", err)
    rc, out, err = host("check", quick_path, "--out", chk, "--set", "lr=0", "--quiet")
    one_error(rc, err, "check overfit: the loss fell from", "lr 0: the overfit check fails, naming the setting")

    # ---- a diverging run stops with the step named and keeps the last good checkpoint
    rc, out, err = host("train", quick_path, "--run-dir", os.path.join(tmp, "nan"), "--set", "lr=1e5",
                        "--set", "checks.enabled=false")
    check(rc == 1 and "step " in err and ("NaN" in err or "infinite" in err) and "checkpoint" in err,
          "a diverging loss stops training, step and last good checkpoint named", err)

    # ---- early stopping: nothing improves at lr 0
    rc, out, err = host("train", quick_path, "--run-dir", os.path.join(tmp, "early"), "--set", "lr=0", "--set", "epochs=5",
                        "--set", "early_stopping.patience=1", "--set", "checks.enabled=false")
    vals = [l for l in map(json.loads, open(os.path.join(tmp, "early", "metrics.jsonl"))) if l["split"] == "val"]
    check(rc == 0 and "stopped early" in out and len(vals) == 2, "early stopping after patience 1", f"{out}\n{err}")

    # ---- MLflow file store
    mlroot = os.path.join(tmp, "mlruns")
    rc, out, err = host("train", quick_path, "--run-dir", os.path.join(tmp, "ml"), "--set", "experiment_tracker=mlflow",
                        "--set", f"mlflow_root={mlroot}", "--set", "experiment_name=lab", "--set", "epochs=1",
                        "--set", "checks.enabled=false")
    exps = [d for d in os.listdir(mlroot) if d not in ("0", ".trash")] if os.path.isdir(mlroot) else []
    ok = rc == 0 and len(exps) == 1
    if ok:
        exp = os.path.join(mlroot, exps[0])
        runs = [d for d in os.listdir(exp) if os.path.isdir(os.path.join(exp, d))]
        r = os.path.join(exp, runs[0])
        meta = open(os.path.join(r, "meta.yaml")).read()
        loss_lines = open(os.path.join(r, "metrics", "loss")).read().split("\n")
        ok = ("name: 'lab'" in open(os.path.join(exp, "meta.yaml")).read() and "status: 3" in meta and
              open(os.path.join(r, "params", "lr")).read() == "0.05" and len(loss_lines[0].split()) == 3 and
              os.path.isfile(os.path.join(r, "metrics", "val_accuracy")) and
              os.path.isfile(os.path.join(r, "artifacts", "report.html")))
    check(ok, "experiment_tracker mlflow: experiment, run meta (FINISHED), params, metrics, artifacts", err)

    # ---- gradient accumulation: 2 x 64 equals one batch of 128 (the same samples; an mlp has no BatchNorm)
    mlp = dict(json.load(open(os.path.join(SOURCE, "examples", "fashion_mnist", "mlp.json"))), train_steps_per_epoch=8,
               val_split=0, val_steps_per_epoch=1, workers=0, checks={"enabled": False})
    mlp_path = write("mlp.json", mlp)
    rc1, _, err1 = host("train", mlp_path, "--run-dir", os.path.join(tmp, "b128"), "--quiet")
    rc2, _, err2 = host("train", mlp_path, "--run-dir", os.path.join(tmp, "acc2"), "--quiet", "--set", "n_gradients=2",
                        "--set", "train_batch_size=64")
    if rc1 == 0 and rc2 == 0:
        a, _ = st_read(os.path.join(tmp, "b128", "checkpoints", "last.safetensors"))
        b, _ = st_read(os.path.join(tmp, "acc2", "checkpoints", "last.safetensors"))
        worst = 0.0
        for k in ("fc1.weight", "fc2.weight", "fc3.weight", "fc3.bias"):
            x = struct.unpack(f"<{len(a[k][2]) // 4}f", a[k][2])
            y = struct.unpack(f"<{len(b[k][2]) // 4}f", b[k][2])
            worst = max(worst, max(abs(p - q) for p, q in zip(x, y)) / max(abs(p) for p in x))
        check(worst < 1e-5, f"n_gradients 2 x 64 matches batch 128 after 8 steps (rel. {worst:.1e})")
        check("optim.fc1.weight.grad_acc" in b, "the accumulation buffers are optimizer state in the checkpoint")
    else:
        check(False, "gradient accumulation runs", err1 + err2)

    # ---- a multi-task model: the class, a coarse category and a price, through concat
    mt = json.load(open(os.path.join(SOURCE, "examples", "fashion_mnist", "multitask.json")))
    mt.update(epochs=1, train_steps_per_epoch=15, val_split=0.05, val_steps_per_epoch=2)
    mt["inputs"][0]["encoder"] = {"name": "mlp", "hidden": [128]}  # a cheaper encoder; the heads are the point
    # plus a boolean and a multi-label target, with the default heads and losses for their kinds
    mt["dataset"]["targets"] += [
        {"name": "footwear", "as": "boolean_target", "from_label": [0, 0, 0, 0, 0, 1, 0, 1, 0, 1]},
        {"name": "tags", "as": "multilabel", "categories": ["warm", "summer"],
         "from_label": [["summer"], [], ["warm"], ["summer"], ["warm"], ["summer"], [], [], [], ["warm"]]}]
    mt["targets"] += [{"name": "footwear"}, {"name": "tags", "weight": 0.5}]
    mt["checks"] = {"enabled": False}
    mrun = os.path.join(tmp, "mt")
    rc, out, err = host("train", write("mt.json", mt), "--run-dir", mrun)
    res = json.load(open(os.path.join(mrun, "results.json"))) if rc == 0 else {"metrics": {}}
    mm = res["metrics"]
    check(rc == 0 and {"accuracy", "coarse.accuracy", "price.mae", "price.rmse", "price.r2", "footwear.auroc",
                       "footwear.accuracy", "tags.auroc"} <= set(mm),
          "multi-task: metrics for the class, the coarse category, the price, a boolean and a multi-label target",
          f"{err}\n{sorted(mm)}")
    check(rc == 0 and 0.5 < mm["footwear.auroc"] <= 1 and len(mm["coarse.confusion"]) == 4,
          f"footwear AUROC above chance after 15 steps ({mm.get('footwear.auroc')}); a 4x4 coarse confusion matrix")
    st, _ = st_read(os.path.join(mrun, "checkpoints", "last.safetensors"))
    check(any(k.startswith("label.") for k in st) and any(k.startswith("coarse.") for k in st) and
          any(k.startswith("price.") for k in st), "each head's parameters carry its target's name", sorted(st)[:8])
    # ---- a multi-input model from a CSV manifest: an image and a number, joined by concat
    csvroot = os.path.join(tmp, "csv")
    os.makedirs(os.path.join(csvroot, "img"))
    names = ["top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]
    tlabels = open_labels = __import__("gzip").open(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz")).read()[8:]
    with open(os.path.join(csvroot, "train.csv"), "w") as f:
        f.write("file,ink,kind\n")
        for i in range(96):
            px = pixels[i * rows * cols:(i + 1) * rows * cols]
            png_gray(os.path.join(csvroot, "img", f"{i}.png"), px, cols, rows)
            f.write(f"img/{i}.png,{sum(px) / len(px) / 255:.4f},{names[tlabels[i]]}\n")
    multi = {"dataset": {"format": "csv", "root": csvroot, "file": "train.csv",
                         "columns": [{"name": "file", "as": "image"}, {"name": "ink", "as": "numerical"},
                                     {"name": "kind", "as": "target", "categories": names}]},
             "input_shape": [1, 28, 28], "val_split": 0.25, "test_split": 0.25, "train_batch_size": 16,
             "val_batch_size": 16, "epochs": 2,
             "inputs": [{"name": "file", "encoder": {"name": "cnn", "width": 8, "embed": 16}}, {"name": "ink"}],
             "aggregator": {"name": "concat", "dense": [16]}, "targets": [{"name": "kind"}],
             "optimizer_name": {"name": "adam"}, "lr": 0.003, "checks": {"overfit_steps": 20, "overfit_factor": 1.5}}
    crun = os.path.join(tmp, "csvrun")
    rc, out, err = host("train", write("multi.json", multi), "--run-dir", crun)
    st, _ = st_read(os.path.join(crun, "checkpoints", "last.safetensors")) if rc == 0 else ({}, {})
    check(rc == 0 and any(k.startswith("file.conv1") for k in st) and any(k.startswith("aggregator.") for k in st),
          "a two-input model (image + number through concat) trains from a CSV manifest; encoders named by input",
          f"{err}\n{sorted(st)[:6]}")
    rc, out, err = host("eval", crun, "--json")
    check(rc == 0 and json.loads(out)["split"] == "test" and json.loads(out)["samples"] == 24,
          "eval of the CSV run measures its held-out test split (test_split 0.25 of 96)", err)
    # ---- the CIFAR-10 example stays valid: a synthetic cifar-10-batches-bin layout, two steps
    croot = os.path.join(tmp, "cifar-10-batches-bin")
    os.makedirs(croot)
    import random
    rnd = random.Random(0)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        with open(os.path.join(croot, name), "wb") as f:
            for r in range(40):
                f.write(bytes([r % 10]) + bytes(rnd.getrandbits(8) for _ in range(3072)))
    rc, out, err = host("train", os.path.join(SOURCE, "examples", "cifar10", "davidnet.json"), "--run-dir",
                        os.path.join(tmp, "cifar"), "--quiet", "--set", f"dataset.root={croot}", "--set", "epochs=1",
                        "--set", "train_batch_size=32", "--set", "val_batch_size=10", "--set", "train_steps_per_epoch=2",
                        "--set", "device=cpu", "--set", "checks.enabled=false")
    check(rc == 0 and "test accuracy" in out, "examples/cifar10/davidnet.json trains on a CIFAR-10 layout", err)
finally:
    shutil.rmtree(tmp)

done()
