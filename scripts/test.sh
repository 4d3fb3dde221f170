#!/usr/bin/env bash
# Builds cvlization and runs the whole test suite; the last line is
# `N passed, N failed`. With CI=true it also builds with warnings as errors
# and runs the suite a second time under ASan and UBSan.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

# Vulkan tests run on lavapipe with the Khronos validation layer.
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/share/vulkan/icd.d/lvp_icd.x86_64.json}

logs=()
status=0
broken=0 # suites that did not build: each counts as a failure
run_suite() { # build_dir, meson setup args...   (SUITE=name: only that test suite)
  local dir=$1; shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
  else
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
  fi
  meson compile -C "$dir" || { echo "FAIL: $dir does not build"; return 1; }
  local only=()
  [ -n "${SUITE:-}" ] && only=(--suite "$SUITE")
  meson test -C "$dir" "${only[@]}" --print-errorlogs --num-processes "$(nproc)" >"$dir/test-output.txt" 2>&1
  tail -n 12 "$dir/test-output.txt"
  logs+=("$dir/meson-logs/testlog.json")
  return 0
}

werror=()
[ "${CI:-}" = "true" ] && werror=(--werror)
run_suite build "${werror[@]}" || { status=1; broken=$((broken + 1)); }
if [ "${CI:-}" = "true" ] || [ "${CVL_SANITIZE:-}" = "1" ]; then
  # Sanitizers: leaks are checked too; lavapipe's own allocations are not ours.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
  # -O2 with debug info: sanitizers instrument optimised code as well, and the
  # pipeline tests (real training runs) are 5x faster than at -O0.
  run_suite build-asan "${werror[@]}" -Dbuildtype=debugoptimized -Db_sanitize=address,undefined \
    -Db_lundef=false || { status=1; broken=$((broken + 1)); }
fi
if [ "${CI:-}" = "true" ] || [ "${CVL_FUZZ:-}" = "1" ]; then
  # The parsers' libFuzzer targets, 20 s each, built with clang (+ ASan, UBSan).
  CC=clang SUITE=fuzz run_suite build-fuzz "${werror[@]}" -Dfuzz=true -Dbuildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false || { status=1; broken=$((broken + 1)); }
fi
python3 tests/summary.py --extra-failures "$broken" "${logs[@]}" || status=1
exit $status
