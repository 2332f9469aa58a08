#!/usr/bin/env bash
# Runs every cargo-fuzz target of tally for a bounded time each (not part of CI):
#   protocol/fuzz/run.sh [SECONDS_PER_TARGET]      (default 180)
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`). Each target
# starts from its committed seeds (fuzz/seeds/TARGET) and keeps what it learns in fuzz/corpus/TARGET;
# a crashing input lands in fuzz/artifacts/TARGET and must become a regression test in the crate's
# normal test suite. Prints one line per target: executions, and whether it crashed.
set -uo pipefail

seconds="${1:-180}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
failed=0

run_target() {
    local crate_dir="$1" target="$2"
    local log="$crate_dir/fuzz/artifacts/$target.log"
    mkdir -p "$crate_dir/fuzz/corpus/$target" "$crate_dir/fuzz/artifacts"
    (cd "$crate_dir" && cargo +nightly fuzz run "$target" \
        "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1) >"$log" 2>&1
    local status=$?
    local runs
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
    if [ "$status" -eq 0 ]; then
        echo "$target: ${runs:-?} executions in ${seconds}s, no crash"
    else
        echo "$target: CRASHED (exit $status) after ${runs:-?} executions; see $log and $crate_dir/fuzz/artifacts/$target/"
        failed=1
    fi
}

for target in sensor_frame display_request rest_bodies api_bodies api_queries; do
    run_target "$root/protocol" "$target"
done
run_target "$root/config" config_toml

exit "$failed"
