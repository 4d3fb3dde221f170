#!/usr/bin/env bash
# How long `cvl-host --list` takes with 20 plugins of 5 components each.
# usage: bench/list_plugins.sh [BUILD_DIR]   (default: build)
set -euo pipefail
build=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/cvl-bench-list-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq -w 1 20); do
  cat > "$tmp/p$i.c" <<C
#include <cvl/plugin.h>
static cvl_status b(const cvl_host *h, cvl_ctx *c, int64_t w, double lr, const char *s) { (void)h; (void)c; (void)w; (void)lr; (void)s; return CVL_OK; }
static const cvl_param_desc ps[] = { CVL_PARAM_INT_DEF("width", "64", "w"), CVL_PARAM_FLOAT_DEF("lr", "0.1", "lr"), CVL_PARAM_STRING_DEF("pool", "avg", "p") };
CVL_COMPONENT(e, CVL_KIND_ENCODER, "enc_$i", "x", 1, ps, b);
CVL_COMPONENT(a, CVL_KIND_AGGREGATOR, "agg_$i", "x", 1, ps, b);
CVL_COMPONENT(h, CVL_KIND_HEAD, "head_$i", "x", 1, ps, b);
CVL_COMPONENT(l, CVL_KIND_LOSS, "loss_$i", "x", 1, ps, b);
CVL_COMPONENT(o, CVL_KIND_OPTIMIZER, "opt_$i", "x", 1, ps, b);
static const cvl_component_desc *const cs[] = {&e, &a, &h, &l, &o};
CVL_DEFINE_PLUGIN("bench-$i", 1, cs)
C
  cc -I"$src/plugin-api" -O2 -shared -fPIC -fvisibility=hidden -o "$tmp/p$i.so" "$tmp/p$i.c"
done
host="$src/$build/host/cvl-host"
"$host" --plugin-dir "$tmp" --list --json >/dev/null
runs=50
start=$(date +%s%N)
for _ in $(seq $runs); do "$host" --plugin-dir "$tmp" --list --json >/dev/null; done
end=$(date +%s%N)
n=$("$host" --plugin-dir "$tmp" --list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "{\"bench\": \"list_plugins\", \"plugins\": 20, \"components\": $n, \"runs\": $runs, \"ms_per_list\": $(( (end - start) / runs / 1000 ))e-3}"
