#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ for SECONDS each (default 60), one after
# the other, on stable Rust (no sanitizer: the targets are safe Rust, and
# what they check is panics and the properties the bodies in
# crates/fuzzing assert). Installs cargo-fuzz when it is missing.
#
#   tests/fuzz.sh [SECONDS] [TARGET...]
#
# The run starts from the committed seeds in fuzz/corpus/TARGET/ (made by
# `cargo run -p assure-fuzzing --example seeds`) and writes the inputs it
# finds that reach new code to fuzz/target/corpus/TARGET/, outside the
# repository's files (copy the few that matter into fuzz/corpus/). A
# crash stops the run with its input in fuzz/artifacts/TARGET/: fix the
# decoder, then keep the input as fuzz/regressions/TARGET/<name> so
# `cargo test` replays it.
#
# Environment: FUZZ_JOBS (default 1) parallel jobs per target; NICE
# (default 10) the niceness, since the machine is shared; FUZZ_ARGS extra
# libFuzzer flags (e.g. -runs=10000000).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-60}
shift || true
jobs=${FUZZ_JOBS:-1}
nice=${NICE:-10}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "tests/fuzz.sh: installing cargo-fuzz (crates.io)"
    cargo install cargo-fuzz --locked
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

nice -n "$nice" cargo fuzz build --sanitizer none
# The restore target writes a data directory per input: keep it in memory.
if [ -d /dev/shm ]; then export TMPDIR=/dev/shm; fi

parallel=()
if [ "$jobs" -gt 1 ]; then parallel=(-jobs="$jobs" -workers="$jobs"); fi

for target in "${targets[@]}"; do
    found="target/corpus/$target"
    mkdir -p "$found" "artifacts/$target"
    log="artifacts/$target/last-run.log"
    echo "== $target: ${seconds}s"
    status=0
    # shellcheck disable=SC2086
    nice -n "$nice" cargo fuzz run --sanitizer none "$target" "$found" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 "${parallel[@]}" \
        ${FUZZ_ARGS:-} >"$log" 2>&1 || status=$?
    grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units|stat::average_exec_per_sec)' "$log" || true
    if [ "$status" -ne 0 ] || compgen -G "artifacts/$target/crash-*" >/dev/null; then
        tail -n 30 "$log" >&2
        echo "tests/fuzz.sh: $target failed; inputs in fuzz/artifacts/$target/, log in fuzz/$log" >&2
        exit 1
    fi
done
