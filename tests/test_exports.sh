#!/usr/bin/env bash
# Every built-in plugin exports exactly one symbol, cvl_plugin_entry, and
# pulls in no host symbol (a plugin never links against libcvl). Speaks TAP.
# usage: test_exports.sh PLUGIN.so...
set -u
n=0; failed=0
for so in "$@"; do
  n=$((n+1))
  exports=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVWiu]$/ {print $3}' | sort | tr '\n' ' ')
  if [ "$exports" = "cvl_plugin_entry " ]; then echo "ok $n - $(basename "$so") exports only cvl_plugin_entry"
  else echo "not ok $n - $(basename "$so") exports: $exports"; failed=$((failed+1)); fi
  n=$((n+1))
  undef=$(nm -D --undefined-only "$so" | awk '{print $2}' | grep -E '^cvl_' | tr '\n' ' ')
  if [ -z "$undef" ]; then echo "ok $n - $(basename "$so") needs no cvl_ symbol from the host"
  else echo "not ok $n - $(basename "$so") needs host symbols: $undef"; failed=$((failed+1)); fi
  n=$((n+1))
  if ldd "$so" | grep -q libcvl; then echo "not ok $n - $(basename "$so") links libcvl"; failed=$((failed+1))
  else echo "ok $n - $(basename "$so") does not link libcvl"; fi
done
echo "1..$n"
[ $failed -eq 0 ]
