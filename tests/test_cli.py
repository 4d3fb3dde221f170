#!/usr/bin/env python3
"""cvl-host's command line: --list (text, JSON, kind filter), --version,
--help, usage errors, and the plugin search order (--plugin-dir, then
CVL_PLUGIN_PATH, then the built-in dir). Speaks TAP.
usage: test_cli.py CVL_HOST TEST_PLUGIN_DIR"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import check, done  # noqa: E402


HOST, PLUGINS = sys.argv[1], sys.argv[2]


def run(*args, env_extra=None):
    env = dict(os.environ)
    env.pop("CVL_PLUGIN_PATH", None)
    env.update(env_extra or {})
    p = subprocess.run([HOST, *args], capture_output=True, text=True, env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr


tmp = tempfile.mkdtemp(prefix="cvl-cli-")
try:
    good = os.path.join(tmp, "good")
    os.mkdir(good)
    for name in ("good_types", "good_kinds"):
        shutil.copy(os.path.join(PLUGINS, name + ".so"), good)

    rc, out, err = run("--version")
    check(rc == 0 and out.startswith("cvl-host ") and "plugin ABI 1.0" in out, "--version", out + err)
    rc, out, err = run("--help")
    check(rc == 0 and "--list" in out and "--plugin-dir" in out and "CVL_PLUGIN_PATH" in out, "--help", out)
    rc, out, err = run()
    check(rc == 2 and "usage:" in err, "no command: usage on stderr, exit 2", err)
    rc, out, err = run("--lits")
    check(rc == 2 and err.strip() == "cvl-host: unknown command '--lits', did you mean '--list'? (see cvl-host --help)",
          "an unknown command suggests the closest", err)
    rc, out, err = run("--list", "encodr")
    check(rc == 2 and "unknown kind 'encodr', did you mean 'encoder'?" in err, "an unknown kind suggests the closest", err)
    rc, out, err = run("--plugin-dir")
    check(rc == 2 and "--plugin-dir needs a directory" in err, "--plugin-dir without a value", err)

    rc, out, err = run("--plugin-dir", good, "--list", "--json")
    check(rc == 0 and err == "", "--list --json runs without warnings", err)
    arr = json.loads(out)
    mine = [c for c in arr if c["plugin"].startswith(good)]
    check(len(mine) == 6, "six components from the two good test plugins", out)
    keys = {"kind", "name", "version", "plugin", "params", "summary"}
    check(all(keys <= set(c) for c in arr), "every entry has kind, name, version, plugin, params, summary")
    typed = next(c for c in arr if c["name"] == "typed")
    check(typed["version"] == "1.2.3" and typed["kind"] == "encoder", "version and kind of 'typed'", typed)
    got = [(p["name"], p["type"], p["default"], p["required"]) for p in typed["params"]]
    want = [("depth", "int", 18, False), ("scale", "float", 0.5, False), ("flag", "bool", True, False),
            ("mode", "string", "avg", False), ("widths", "int list", [64, 128], False), ("neg", "int", None, True),
            ("weights", "float list", [0.5, 2.0], False)]
    check(got == want, "typed parameters with typed JSON defaults", got)
    kinds = [c["kind"] for c in mine]
    order = ["encoder", "aggregator", "head", "loss", "optimizer"]
    check(kinds == sorted(kinds, key=order.index), "listed grouped by kind", kinds)

    rc, out, err = run("--plugin-dir", good, "--list", "loss", "--json")
    check(rc == 0 and {c["kind"] for c in json.loads(out)} == {"loss"}, "--list KIND filters", out)
    rc, out, err = run("--plugin-dir", good, "--list")
    check(rc == 0 and "typed 1.2.3" in out and "widths: int list = [64, 128]" in out
          and "neg: int = (required)" in out and "plugin: " + good in out,
          "text listing shows version, plugin file and parameters", out)

    # Search order: --plugin-dir, then CVL_PLUGIN_PATH; first found wins.
    a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    os.mkdir(a)
    os.mkdir(b)
    shutil.copy(os.path.join(PLUGINS, "dup_b.so"), a)
    shutil.copy(os.path.join(PLUGINS, "dup_a.so"), b)
    rc, out, err = run("--plugin-dir", a, "--list", "encoder", "--json", env_extra={"CVL_PLUGIN_PATH": b})
    dup = [c for c in json.loads(out) if c["name"] == "dup"]
    check(len(dup) == 1 and dup[0]["plugin"].startswith(a), "--plugin-dir wins over CVL_PLUGIN_PATH", out)
    check(f"plugin {b}/dup_a.so: encoder 'dup' is already provided by {a}/dup_b.so; keeping that one" in err,
          "the shadowing warning names both files", err)
    rc, out, err = run("--list", "encoder", "--json", env_extra={"CVL_PLUGIN_PATH": f"{tmp}/missing:{b}:{a}"})
    dup = [c for c in json.loads(out) if c["name"] == "dup"]
    check(len(dup) == 1 and dup[0]["plugin"].startswith(b), "CVL_PLUGIN_PATH is searched in order", out)
    check(f"plugin dir {tmp}/missing: cannot open" in err, "a missing dir in the path warns", err)
    rc, out, err = run("--plugin-dir", a, "--plugin-dir", b, "--list", "--json")
    dup = [c for c in json.loads(out) if c["name"] == "dup"]
    check(rc == 0 and dup[0]["plugin"].startswith(a), "repeated --plugin-dir keeps its order", out)

    # A broken plugin next to good ones: one warning line, the rest loads.
    shutil.copy(os.path.join(PLUGINS, "bad_default.so"), good)
    rc, out, err = run("--plugin-dir", good, "--list", "--json")
    lines = err.strip().splitlines()
    check(rc == 0 and len(lines) == 1 and lines[0].startswith(f"cvl: warning: plugin {good}/bad_default.so: rejected:"),
          "a bad plugin costs exactly one warning line naming it", err)
    check(len([c for c in json.loads(out) if c["plugin"].startswith(good)]) == 6, "the good plugins still load")
finally:
    shutil.rmtree(tmp)

done()
