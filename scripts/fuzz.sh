#!/usr/bin/env bash
# Runs each fuzz target (fuzz/fuzz_targets) for a bounded time and prints
# libFuzzer's final statistics. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
# (default: $FUZZ_SECONDS or 60 s, every target). Exits 1 if any target
# found a crash; the input is kept in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-${FUZZ_SECONDS:-60}}"
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(authorization scim_path bulk_body key_record url_secret forward_headers oauth_token)
fi

# cargo fuzz needs compiler flags that only nightly accepts (-Zsanitizer,
# coverage instrumentation). Use nightly when installed. A fresh machine may
# have only the pinned stable toolchain and no way to download another:
# RUSTC_BOOTSTRAP=1 unlocks the same flags on stable (tested with 1.95).
if rustup run nightly rustc --version >/dev/null 2>&1; then
  toolchain=(+nightly)
else
  toolchain=()
  export RUSTC_BOOTSTRAP=1
  echo "[fuzz] no nightly toolchain: stable with RUSTC_BOOTSTRAP=1"
fi
# -a: debug assertions, so arithmetic overflow counts as a crash too.
flags=(-O -a)

mkdir -p fuzz/target/logs
started=$SECONDS
if ! cargo "${toolchain[@]}" fuzz build "${flags[@]}" >fuzz/target/logs/build.log 2>&1; then
  tail -40 fuzz/target/logs/build.log
  exit 1
fi
echo "[fuzz] targets built in $(( SECONDS - started )) s"

failed=()
for t in "${targets[@]}"; do
  # New inputs go to a scratch corpus; the checked-in seeds stay as they are.
  mkdir -p "fuzz/target/corpus/$t"
  log="fuzz/target/logs/$t.log"
  options=(-max_total_time="$seconds" -print_final_stats=1)
  [[ -f "fuzz/dict/$t.dict" ]] && options+=(-dict="fuzz/dict/$t.dict")
  if cargo "${toolchain[@]}" fuzz run "${flags[@]}" "$t" "fuzz/target/corpus/$t" "fuzz/corpus/$t" -- "${options[@]}" >"$log" 2>&1; then
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
    echo "[fuzz] $t: ${runs:-?} executions in ${seconds} s — $done_line"
  else
    failed+=("$t")
    echo "[fuzz] $t: FAILED"
    grep -E -A6 "panicked at|ERROR: |SUMMARY|Test unit written" "$log" | head -40 || tail -40 "$log"
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "[fuzz] crashes in: ${failed[*]} (inputs in fuzz/artifacts/, logs in fuzz/target/logs/)"
  exit 1
fi
echo "[fuzz] ${#targets[@]} targets, ${seconds} s each: no crash"
