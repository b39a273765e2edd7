#!/usr/bin/env bash
# Builds and runs the Kafka request fuzz target (libFuzzer + ASan + UBSan).
#
# Usage: tools/fuzz.sh [seconds]      (default 60)
#
# Configures build-fuzz/ with clang (CXX=clang++) and -Dfuzz=true, builds only
# the fuzz target, and runs it for the given time over a scratch copy of
# tests/fuzz/corpus/kafka_request/, so the committed corpus never changes.
# Exits non-zero if the fuzzer finds a crash, a leak or undefined behaviour;
# the input that triggered it is left in build-fuzz/ (crash-*, leak-*, ...).
# Needs clang and libFuzzer: clang-14 and libclang-rt-14-dev in
# tools/debian-packages.txt (tools/bootstrap.sh installs them).
set -euo pipefail

seconds="${1:-60}"
if ! [[ "${seconds}" =~ ^[0-9]+$ ]] || [[ "${seconds}" -lt 1 ]]; then
    echo "usage: tools/fuzz.sh [seconds]" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${root}/build-fuzz"
corpus="${root}/tests/fuzz/corpus/kafka_request"

if [[ ! -f "${build}/build.ninja" ]]; then
    # fuzzer-no-link instruments every library for coverage; only the fuzz
    # target itself links libFuzzer's main (-fsanitize=fuzzer, net/meson.build).
    CXX=clang++ \
        CXXFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
        LDFLAGS="-fsanitize=address,undefined" \
        meson setup "${build}" "${root}" -Dfuzz=true -Dtests=false -Dbench=false \
        -Db_lundef=false
fi
meson compile -C "${build}" kafka-request-fuzz

scratch="$(mktemp -d)"
trap 'rm -rf "${scratch}"' EXIT
cp -R "${corpus}/." "${scratch}/"

echo "fuzz: kafka-request-fuzz for ${seconds}s over $(ls "${scratch}" | wc -l) seed inputs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "${build}/net/kafka-request-fuzz" \
    -max_total_time="${seconds}" -print_final_stats=1 -max_len=4096 \
    -artifact_prefix="${build}/" "${scratch}"
