#!/usr/bin/env bash
# Run every fuzz target for a fixed time from the committed seeds (fuzz/seeds)
# and past failures (fuzz/regressions) into a throw-away corpus, one target
# at a time. Used by .ci/run.
# Usage: bash fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]   (default 25 s, all targets)
#
# cargo-fuzz is installed at a pinned version when missing. The nightly
# toolchain is used when installed; without it the stable compiler is told
# to accept the unstable flags cargo-fuzz passes (RUSTC_BOOTSTRAP=1).
# Sanitizer: none (the code is safe Rust; ASan halves the execution rate).
set -euo pipefail
cd "$(dirname "$0")"
CARGO_FUZZ_VERSION=0.13.2
seconds=${1:-25}
shift || true

if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  echo "fuzz/run.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
if rustup run nightly rustc --version >/dev/null 2>&1; then
  fuzz=(cargo +nightly fuzz)
else
  echo "fuzz/run.sh: no nightly toolchain; using stable with RUSTC_BOOTSTRAP=1"
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <("${fuzz[@]}" list)
"${fuzz[@]}" build -s none
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  log="$scratch/$t.log"
  dirs=("$scratch/$t" "seeds/$t")
  [ -d "regressions/$t" ] && dirs+=("regressions/$t")
  if ! "${fuzz[@]}" run -s none "$t" "${dirs[@]}" -- \
       -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    tail -60 "$log" >&2
    echo "fuzz/run.sh: $t failed; the input is under fuzz/artifacts/$t" >&2
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "fuzz/run.sh: $t: ${execs:-?} executions in ${seconds} s, no crash"
done
