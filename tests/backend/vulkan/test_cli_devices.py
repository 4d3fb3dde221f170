#!/usr/bin/env python3
"""`cvl-host --devices` against lavapipe, and without a Vulkan loader.
argv[1]: the cvl-host binary. TAP on stdout."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
from tap import check, done  # noqa: E402


host = sys.argv[1]


def run(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([host, *args], capture_output=True, text=True, env=e, timeout=60)


p = run("--devices", "--json")
check(p.returncode == 0, "--devices --json exits 0")
doc = json.loads(p.stdout)
devs = doc["devices"]
check(devs[0] == {"kind": "cpu", "name": "cpu"}, "cpu listed first")
lvp = [d for d in devs if d["kind"] == "vulkan" and d["driver_name"] == "llvmpipe"]
check(len(lvp) == 1, "lavapipe listed once")
d = lvp[0]
check(d["type"] == "cpu" and d["api_version"].startswith("1."), "type and API version")
check(d["subgroup_size"] == 8 and d["shared_memory_bytes"] == 32768, "subgroup size and shared memory")
check(d["max_storage_buffer_range"] == 134217728, "max storage buffer range")
check(d["fp16"] and d["storage_16bit"] and not d["cooperative_matrix"], "fp16, 16-bit storage, no coopmat")
check(len(d["memory_heaps"]) >= 1 and d["memory_heaps"][0]["bytes"] > 0, "memory heaps")
check(doc["selected"] == "cpu" and "software" in doc["note"], "auto skips lavapipe: " + doc.get("note", ""))

p = run("--devices", "--select", "vulkan:llvmpipe", "--json")
doc = json.loads(p.stdout)
check(p.returncode == 0 and doc["selected"] == "vulkan:%d (%s)" % (d["index"], d["name"]), "select by name")

p = run("--devices")
check(p.returncode == 0 and "vulkan:%-3d %s" % (d["index"], d["name"]) in p.stdout, "text lists lavapipe")
check("subgroup 8, shared memory 32 KiB, max storage buffer range 128 MiB" in p.stdout, "text limits line")
check("--device auto: cpu: no Vulkan GPU" in p.stdout, "text says what auto picks")

p = run("--devices", "--select", "vulkan:7")
check(p.returncode == 1 and p.stderr.strip() == "cvl-host: device vulkan:7: no such device (%d Vulkan device%s)"
      % (len(devs) - 1, "" if len(devs) == 2 else "s"), "bad index: one line: " + p.stderr.strip())

nolib = {"CVL_VULKAN_LIBRARY": "/nonexistent/libvulkan.so.1"}
p = run("--devices", env=nolib)
lines = p.stdout.splitlines()
check(p.returncode == 0 and lines[0].startswith("cpu "), "no loader: cpu still listed")
check(lines[1].startswith("vulkan     no Vulkan loader: /nonexistent/libvulkan.so.1"), "no loader: one line: " + lines[1])
check(lines[-1].startswith("--device auto: cpu: no Vulkan loader") and lines[-1].endswith("using the CPU"),
      "no loader: auto falls back to the CPU")
p = run("--devices", "--select", "vulkan", env=nolib)
err = p.stderr.strip().splitlines()
check(p.returncode == 1 and len(err) == 1 and err[0].startswith("cvl-host: device vulkan: no Vulkan loader"),
      "no loader: --select vulkan fails in one line")

p = run("--devices", env={"VK_DRIVER_FILES": "/nonexistent/icd.json"})
lines = p.stdout.splitlines()
check(p.returncode == 0 and lines[1] == "vulkan     no Vulkan driver (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER)",
      "no driver: one line: " + (lines[1] if len(lines) > 1 else ""))
check(lines[-1].endswith("no Vulkan driver (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER); using the CPU"),
      "no driver: auto falls back to the CPU")

done()
