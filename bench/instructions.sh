#!/usr/bin/env bash
# Instructions per run of each step of the decision (callgrind), with the
# software SHA-256 the wasm uses: a measure that does not move with the
# machine's load. Bounded: two runs of each step under valgrind.
#
#   bash bench/instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=target/bench-soft RUSTFLAGS='--cfg sha2_backend="soft"'
cargo build --quiet --release --example decision_instructions
bin=target/bench-soft/release/examples/decision_instructions
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 | awk '/Collected/ { print $4 }'; }
floor=0
for step in floor cached miss token token_json decode classify; do
  per=$(( ($(count "$step" 11000) - $(count "$step" 1000)) / 10000 ))
  [ "$step" = floor ] && floor=$per
  awk -v s="$step" -v p="$per" -v f="$floor" 'BEGIN { printf "%-9s %7d instructions  %.2f× the floor\n", s, p, p / f }'
done
