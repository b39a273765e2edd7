#!/usr/bin/env bash
# The partition log against fio, measured in the same run on the same filesystem.
#
# Usage: bash bench/log_bench.sh BUILD_DIR
#   e.g. bash bench/log_bench.sh build-release
#
# Needs fio (tools/debian-packages.txt) and BUILD_DIR/bench/samsa-log-load.
# Works in BUILD_DIR/bench-tmp (removed afterwards), writes every raw result
# to BUILD_DIR/log-bench-results.json and prints a summary with the ratios to
# fio and the storage issue's targets, each MET or NOT MET:
#   nofsync appends          >= 80% of fio O_DIRECT 1 MiB sequential writes
#   group-commit appends     >= 60% of it, and p99 at half that load
#                            <= 2x fio 4 KiB write+fdatasync p99
#   tail reads               >= 3 GB/s
# fio references are the median of 3 runs of up to 5 s each.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: bench/log_bench.sh BUILD_DIR" >&2
    exit 2
fi
build="$(cd "$1" && pwd)"
load="${build}/bench/samsa-log-load"
if [[ ! -x "${load}" ]]; then
    echo "log_bench.sh: ${load} not found; build it first (meson compile -C $1)" >&2
    exit 1
fi
if ! command -v fio >/dev/null; then
    echo "log_bench.sh: fio not found (apt-get install fio)" >&2
    exit 1
fi
tmp="${build}/bench-tmp"
results="${build}/log-bench-results.json"
rm -rf "${tmp}"
mkdir -p "${tmp}"
trap 'rm -rf "${tmp}"' EXIT

# The first engine fio can use here.
engine=psync
for candidate in io_uring libaio; do
    if fio --name=probe --filename="${tmp}/probe" --size=1M --bs=4k --rw=write --direct=1 \
        --ioengine="${candidate}" --output-format=json >/dev/null 2>&1; then
        engine="${candidate}"
        break
    fi
done
rm -f "${tmp}/probe"

fio_run() {  # name, fio args...; prints fio's JSON on one line
    local name="$1"
    shift
    fio --name="${name}" --filename="${tmp}/fio.dat" --runtime=5 --output-format=json "$@" |
        /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))'
    rm -f "${tmp}/fio.dat"
}

{
    echo "{\"engine\": \"${engine}\", \"host\": \"$(hostname)\", \"date\": \"$(date -u +%FT%TZ)\","
    echo "\"fio_direct\": ["
    for i in 1 2 3; do
        fio_run direct --direct=1 --rw=write --bs=1M --size=1G --iodepth=16 --ioengine="${engine}"
        if [[ $i -lt 3 ]]; then echo ","; fi
    done
    echo "], \"fio_buffered\": ["
    for i in 1 2 3; do
        fio_run buffered --rw=write --bs=1M --size=1G --ioengine=psync
        if [[ $i -lt 3 ]]; then echo ","; fi
    done
    echo "], \"fio_fdatasync\": ["
    for i in 1 2 3; do
        fio_run fdatasync --rw=write --bs=4k --fdatasync=1 --size=256M --time_based \
            --ioengine=psync
        if [[ $i -lt 3 ]]; then echo ","; fi
    done
    echo "],"
    echo "\"nofsync\": $("${load}" nofsync "${tmp}/log" --bytes 1073741824 --seconds 20 \
        --inflight 128),"
    gc="$("${load}" groupcommit "${tmp}/log" --seconds 5 --inflight 64)"
    echo "\"groupcommit\": ${gc},"
    half="$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["mb_per_s"] / 2)' \
        "${gc}")"
    echo "\"groupcommit_half\": $("${load}" groupcommit "${tmp}/log" --seconds 5 --inflight 64 \
        --rate-mbps "${half}"),"
    echo "\"tailread\": $("${load}" tailread "${tmp}/log" --seconds 3 --fill-bytes 268435456 \
        --window-bytes 1048576)"
    echo "}"
} >"${results}"

echo "==> summary (raw results: ${results})"
/usr/bin/python3 - "${results}" <<'PY'
import json
import statistics
import sys

r = json.load(open(sys.argv[1]))


def job(run):
    return run["jobs"][0]


def median(runs, pick):
    return statistics.median(pick(job(run)) for run in runs)


def pct(node, key):
    return float(node.get("percentile", {}).get(key, 0.0)) / 1e3  # ns -> us


direct = median(r["fio_direct"], lambda j: j["write"]["bw_bytes"]) / 1e6
buffered = median(r["fio_buffered"], lambda j: j["write"]["bw_bytes"]) / 1e6
sync_iops = median(r["fio_fdatasync"], lambda j: j["write"]["iops"])
sync_p50 = median(r["fio_fdatasync"], lambda j: pct(j["sync"]["lat_ns"], "50.000000"))
sync_p99 = median(r["fio_fdatasync"], lambda j: pct(j["sync"]["lat_ns"], "99.000000"))
wr_p99 = median(r["fio_fdatasync"], lambda j: pct(j["write"]["clat_ns"], "99.000000"))
nf, gc, half, tail = r["nofsync"], r["groupcommit"], r["groupcommit_half"], r["tailread"]

print(f"host {r['host']}, {r['date']}, fio engine {r['engine']} (O_DIRECT run)")
print("fio references (median of 3):")
print(f"  (a) O_DIRECT 1 MiB sequential writes  {direct:9.1f} MB/s")
print(f"  (b) buffered 1 MiB sequential writes  {buffered:9.1f} MB/s")
print(f"  (c) 4 KiB write + fdatasync           {sync_iops:9.1f} IOPS, fdatasync p50 "
      f"{sync_p50:.0f} us, p99 {sync_p99:.0f} us (write clat p99 {wr_p99:.0f} us)")
print("samsa-log-load:")
for run in (nf, gc, half, tail):
    if not run["ok"]:
        print(f"  {run['mode']}: FAILED ({run['failure']}, {run['errors']} errors)")
print(f"  nofsync, 64 KiB batches, {nf['inflight']} in flight: {nf['mb_per_s']:.1f} MB/s = "
      f"{nf['mb_per_s'] / direct:.2f} x (a), {nf['mb_per_s'] / buffered:.2f} x (b)")
print(f"  groupcommit, 64 x 16 KiB: {gc['mb_per_s']:.1f} MB/s = {gc['mb_per_s'] / direct:.2f} x (a)"
      f"; p50 {gc['p50_us']:.0f} us, p99 {gc['p99_us']:.0f} us")
print(f"  groupcommit at {half['rate_mbps']:.1f} MB/s offered: {half['mb_per_s']:.1f} MB/s; "
      f"p50 {half['p50_us']:.0f} us, p99 {half['p99_us']:.0f} us = "
      f"{half['p99_us'] / sync_p99:.2f} x (c) p99")
print(f"  tailread, 1 MiB window at readable_end: {tail['read_gb_per_s']:.2f} GB/s")
print("targets:")


def verdict(ok):
    return "MET" if ok else "NOT MET"


print(f"  nofsync >= 80% of (a):           {verdict(nf['mb_per_s'] >= 0.8 * direct)} "
      f"({100 * nf['mb_per_s'] / direct:.0f}%)")
print(f"  groupcommit >= 60% of (a):       {verdict(gc['mb_per_s'] >= 0.6 * direct)} "
      f"({100 * gc['mb_per_s'] / direct:.0f}%)")
print(f"  half-load p99 <= 2 x (c) p99:    {verdict(half['p99_us'] <= 2 * sync_p99)} "
      f"({half['p99_us'] / sync_p99:.2f} x)")
print(f"  tail reads >= 3 GB/s:            {verdict(tail['read_gb_per_s'] >= 3.0)} "
      f"({tail['read_gb_per_s']:.2f} GB/s)")
PY
