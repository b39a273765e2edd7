#!/usr/bin/env bash
# Builds and runs a fuzz target (libFuzzer + ASan + UBSan): the Kafka request
# decoder (kafka-request, the default) or the Raft peer-batch decoder
# (raft-peer).
#
# Usage: tools/fuzz.sh [seconds] [kafka-request|raft-peer]      (default 60, kafka-request)
#
# Configures build-fuzz/ with clang (CXX=clang++) and -Dfuzz=true, builds only
# the fuzz target, and runs it for the given time over a scratch copy of its
# seed corpus (tests/fuzz/corpus/kafka_request/ or raft_peer/), so the
# committed corpus never changes.
# Exits non-zero if the fuzzer finds a crash, a leak or undefined behaviour;
# the input that triggered it is left in build-fuzz/ (crash-*, leak-*, ...).
# Needs clang and libFuzzer: clang-14 and libclang-rt-14-dev in
# tools/debian-packages.txt (tools/bootstrap.sh installs them).
set -euo pipefail

seconds="${1:-60}"
target="${2:-kafka-request}"
if ! [[ "${seconds}" =~ ^[0-9]+$ ]] || [[ "${seconds}" -lt 1 ]]; then
    echo "usage: tools/fuzz.sh [seconds] [kafka-request|raft-peer]" >&2
    exit 2
fi
case "${target}" in
    kafka-request) binary="net/kafka-request-fuzz"; max_len=4096 ;;
    raft-peer) binary="net/raft/raft-peer-fuzz"; max_len=8192 ;;
    *) echo "tools/fuzz.sh: unknown target '${target}'" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${root}/build-fuzz"
corpus="${root}/tests/fuzz/corpus/${target//-/_}"

if [[ ! -f "${build}/build.ninja" ]]; then
    # fuzzer-no-link instruments every library for coverage; only the fuzz
    # target itself links libFuzzer's main (-fsanitize=fuzzer, net/meson.build).
    CXX=clang++ \
        CXXFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
        LDFLAGS="-fsanitize=address,undefined" \
        meson setup "${build}" "${root}" -Dfuzz=true -Dtests=false -Dbench=false \
        -Db_lundef=false
fi
meson compile -C "${build}" "${target}-fuzz"

scratch="$(mktemp -d)"
trap 'rm -rf "${scratch}"' EXIT
cp -R "${corpus}/." "${scratch}/"

echo "fuzz: ${target}-fuzz for ${seconds}s over $(ls "${scratch}" | wc -l) seed inputs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "${build}/${binary}" \
    -max_total_time="${seconds}" -print_final_stats=1 -max_len="${max_len}" \
    -artifact_prefix="${build}/" "${scratch}"
