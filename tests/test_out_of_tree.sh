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

# The installed host finds its built-in plugins relative to itself.
builtin_count=$(find "$tmp/root" -path '*cvlization/plugins/*.so' | wc -l)
listed=$(env -u CVL_PLUGIN_PATH "$host" --list --json | python3 -c 'import json,sys; print(len({c["plugin"] for c in json.load(sys.stdin)}))')
[ "$listed" = "$builtin_count" ]; ok $? "installed cvl-host lists all $builtin_count installed built-in plugins (listed from $listed files)"

echo "1..$n"
[ $failed -eq 0 ]
