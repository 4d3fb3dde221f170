#!/usr/bin/env bash
# A plugin built out of tree against the INSTALLED header and pkg-config
# file loads and lists. Installs the build into a temporary DESTDIR, compiles
# examples/plugin-skeleton/my_plugin.c with only `pkg-config --cflags
# cvl-plugin`, and runs the installed cvl-host. Speaks TAP.
# usage: test_out_of_tree.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd); src=$(cd "$2" && pwd)
n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
tmp=$(mktemp -d /tmp/cvl-oot-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

DESTDIR="$tmp/root" meson install -C "$build" --no-rebuild --quiet >"$tmp/install.log" 2>&1
ok $? "meson install into a temporary DESTDIR"
pc=$(find "$tmp/root" -name cvl-plugin.pc | head -n1)
[ -n "$pc" ]; ok $? "cvl-plugin.pc is installed ($pc)"
hdr=$(find "$tmp/root" -path '*cvlization/cvl/plugin.h' | head -n1)
[ -n "$hdr" ]; ok $? "cvl/plugin.h is installed"
host=$(find "$tmp/root" -type f -name cvl-host | head -n1)
[ -n "$host" ]; ok $? "cvl-host is installed"

export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$tmp/root"
cflags=$(pkg-config --cflags cvl-plugin); ok $? "pkg-config --cflags cvl-plugin ($cflags)"
plugdir=$(pkg-config --variable=plugindir cvl-plugin)
case "$plugdir" in */cvlization/plugins) ok 0 "pkg-config names the built-in plugin dir";; *) ok 1 "plugindir variable: '$plugdir'";; esac

mkdir -p "$tmp/third-party"
# Only the installed header may be visible: no -I into the source tree.
cc $cflags -std=c11 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden \
   -o "$tmp/third-party/my_plugin.so" "$src/examples/plugin-skeleton/my_plugin.c" 2>"$tmp/cc.log"
ok $? "the example plugin compiles against the installed header alone"
cat "$tmp/cc.log" | sed 's/^/# /'

exports=$(nm -D --defined-only "$tmp/third-party/my_plugin.so" | awk '$2 ~ /^[TDBR]$/ {print $3}')
[ "$exports" = "cvl_plugin_entry" ]; ok $? "the plugin exports only cvl_plugin_entry (got: $(echo $exports))"

out=$(env -u CVL_PLUGIN_PATH "$host" --plugin-dir "$tmp/third-party" --list encoder --json 2>"$tmp/err.log")
ok $? "installed cvl-host --list runs"
echo "$out" | python3 -c '
import json, sys
arr = json.load(sys.stdin)
m = [c for c in arr if c["name"] == "passthrough"]
assert len(m) == 1, arr
c = m[0]
assert c["kind"] == "encoder" and c["version"] == "0.1.0", c
assert c["plugin"].endswith("third-party/my_plugin.so"), c
assert [(p["name"], p["type"], p["default"]) for p in c["params"]] == [("repeat", "int", 1), ("note", "string", "hello")], c["params"]
'
ok $? "the out-of-tree encoder lists with its parameters"
[ ! -s "$tmp/err.log" ]; ok $? "no warnings while listing"
sed 's/^/# stderr: /' "$tmp/err.log"

# A custom backbone built out of tree trains when a config names it.
cc $cflags -std=c11 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden \
   -o "$tmp/third-party/tiny_convnet.so" "$src/examples/custom_backbone/tiny_convnet.c" 2>"$tmp/cc2.log"
ok $? "examples/custom_backbone/tiny_convnet.c compiles against the installed header alone"
out=$(env -u CVL_PLUGIN_PATH "$host" --plugin-dir "$tmp/third-party" train "$src/examples/custom_backbone/fashion_mnist.json" \
      --run-dir "$tmp/run" --quiet --set train_steps_per_epoch=8 --set val_steps_per_epoch=1 \
      --set checks.overfit_steps=10 --set checks.overfit_factor=1.2 2>"$tmp/train.log")
rc=$?
case "$out" in *"test accuracy"*) [ $rc = 0 ];; *) false;; esac
ok $? "the installed cvl-host trains the out-of-tree tiny_convnet named in a config"
sed 's/^/# /' "$tmp/train.log"
python3 -c '
import json, struct, sys
raw = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", raw[:8])[0]; h = json.loads(raw[8:8 + n])
assert "conv1.weight" in h and "bn3.running_var" in h and h["conv3.weight"]["shape"] == [64, 32, 3, 3], sorted(h)
' "$tmp/run/checkpoints/last.safetensors"
ok $? "its checkpoint holds the plugin's parameters under their own names"

# A C program drives the pipeline through the installed <cvl/cvl.h> and libcvl.
cvlpc=$(find "$tmp/root" -name cvl.pc | head -n1)
[ -n "$cvlpc" ]; ok $? "cvl.pc is installed"
libcvl_so=$(find "$tmp/root" -name 'libcvl.so*' -type f | head -n1)
san=""  # a sanitizer build's libcvl needs its runtime in the program too
ldd "$libcvl_so" | grep -q libasan && san="-fsanitize=address,undefined"
cc $san $(pkg-config --cflags cvl) -std=c11 -Wall -Wextra -Werror "$src/examples/embed/train_embed.c" \
   $(pkg-config --libs cvl) -o "$tmp/train_embed" 2>"$tmp/cc3.log"
ok $? "examples/embed/train_embed.c builds against the installed cvl/cvl.h and libcvl"
sed 's/^/# /' "$tmp/cc3.log"
libdir=$(dirname "$(find "$tmp/root" -name 'libcvl.so*' | head -n1)")
out=$(LD_LIBRARY_PATH="$libdir" env -u CVL_PLUGIN_PATH "$tmp/train_embed" "$src/examples/fashion_mnist/mlp.json" \
      train_steps_per_epoch=5 val_steps_per_epoch=1 checks.enabled=false "run_dir=$tmp/embed" 2>&1)
case "$out" in *"trained 5 steps"*'"split":"test"'*) ok 0 "the embedded pipeline trains and evaluates";;
  *) ok 1 "the embedded pipeline trains and evaluates"; echo "$out" | sed 's/^/# /';; esac

# The installed host finds its built-in plugins relative to itself.
builtin_count=$(find "$tmp/root" -path '*cvlization/plugins/*.so' | wc -l)
listed=$(env -u CVL_PLUGIN_PATH "$host" --list --json | python3 -c 'import json,sys; print(len({c["plugin"] for c in json.load(sys.stdin)}))')
[ "$listed" = "$builtin_count" ]; ok $? "installed cvl-host lists all $builtin_count installed built-in plugins (listed from $listed files)"

echo "1..$n"
[ $failed -eq 0 ]
