#!/usr/bin/env bash
# The partition log against fio, measured in the same run on the same filesystem.
#
# Usage: bash bench/log_bench.sh BUILD_DIR [--no-recover | --recover-only]
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
#
# Then recovery time vs log size (skip it with --no-recover or
# SAMSA_LOG_BENCH_RECOVER=0: it writes ~5 GiB, about a minute here; run only
# it with --recover-only): see recover_bench below. Raw JSON lines go to
# BUILD_DIR/log-recover-results.json.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: bench/log_bench.sh BUILD_DIR [--no-recover | --recover-only]" >&2
    exit 2
fi
build="$(cd "$1" && pwd)"
load="${build}/bench/samsa-log-load"
run_fio_part=1
run_recover_part="${SAMSA_LOG_BENCH_RECOVER:-1}"
case "${2:-}" in
    "") ;;
    --no-recover) run_recover_part=0 ;;
    --recover-only) run_fio_part=0 run_recover_part=1 ;;
    *)
        echo "usage: bench/log_bench.sh BUILD_DIR [--no-recover | --recover-only]" >&2
        exit 2
        ;;
esac
if [[ ! -x "${load}" ]]; then
    echo "log_bench.sh: ${load} not found; build it first (meson compile -C $1)" >&2
    exit 1
fi

# Recovery after a crash, for each log size in SAMSA_LOG_BENCH_RECOVER_SIZES
# (bytes; default 1 GiB and 4 GiB). Each size is filled once by a process that
# _Exit()s without a clean shutdown, plus 32 MiB so both logs end in a tail
# segment of about the same size (~33-36 MB with 64 MiB segments) and only the
# number of older segments differs. Then 3 times: tear the tail (append the
# first 4 KiB of the oldest segment - a valid-looking batch header whose batch
# runs past the end of the file, as a torn write leaves it), drop the page
# cache when allowed, recover (cold); tear it again and recover (warm). Every
# recovery must cut the 4 KiB and reach the log_end the filling process saw.
recover_bench() {
    recover_dir="${build}/bench-tmp-recover"  # global: the EXIT trap needs it
    local out="${build}/log-recover-results.json"
    local sizes="${SAMSA_LOG_BENCH_RECOVER_SIZES:-1073741824 4294967296}"
    local cold=0
    if (sync && echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then cold=1; fi
    rm -rf "${recover_dir}"
    trap 'rm -rf "${tmp:-}" "${recover_dir}"' EXIT
    : >"${out}"
    for size in ${sizes}; do
        rm -rf "${recover_dir}"
        local prepared end oldest tail
        prepared="$("${load}" recover "${recover_dir}/log" --prepare-bytes $((size + (32 << 20))))"
        echo "{\"size\": ${size}, \"prepare\": ${prepared}}" >>"${out}"
        end="$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["log_end"])' \
            "${prepared}")"
        oldest="$(find "${recover_dir}/log" -name 'p0-*.log' | sort | head -n 1)"
        tail="$(find "${recover_dir}/log" -name 'p0-*.log' | sort | tail -n 1)"
        for run in 1 2 3; do
            for cache in cold warm; do
                if [[ ${cache} == cold && ${cold} == 0 ]]; then continue; fi
                head -c 4096 "${oldest}" >>"${tail}"
                if [[ ${cache} == cold ]]; then sync && echo 3 >/proc/sys/vm/drop_caches; fi
                echo "{\"size\": ${size}, \"run\": ${run}, \"cache\": \"${cache}\", \"result\": $(
                    "${load}" recover "${recover_dir}/log" --expect-end "${end}" || true)}" >>"${out}"
            done
        done
    done
    rm -rf "${recover_dir}"
    echo "==> recovery time vs log size (raw results: ${out})"
    /usr/bin/python3 - "${out}" "${cold}" <<'PY'
import json
import statistics
import sys

lines = [json.loads(line) for line in open(sys.argv[1])]
if sys.argv[2] != "1":
    print("  (dropping the page cache is not permitted here: warm runs only)")
print(f"  {'log bytes':>13} {'segs':>4} {'tail bytes':>11} {'cache':>5} {'median ms':>9}  "
      f"{'runs (ms)':<17} {'list+open ms':>12}  reads / bytes read")
medians = {}
for size in dict.fromkeys(line["size"] for line in lines):
    for cache in ("cold", "warm"):
        runs = [l["result"] for l in lines if l["size"] == size and l.get("cache") == cache]
        if not runs:
            continue
        for r in runs:
            # At least the 4 KiB: a log that pads its writes may leave more past its end.
            if not r["ok"] or r["cut_bytes"] < 4096:
                print(f"  FAILED: {r['failure'] or 'the torn tail was not cut'} ({r})")
        ms = [r["recover_ms"] for r in runs]
        med = statistics.median(ms)
        medians[(size, cache)] = med
        opened = statistics.median(r["open_ms"] for r in runs)
        r = runs[0]
        runs_ms = " ".join(f"{m:.1f}" for m in ms)
        print(f"  {r['log_bytes']:>13,} {r['segments']:>4} {r['tail_bytes']:>11,} {cache:>5} "
              f"{med:>9.1f}  {runs_ms:<17} {opened:>12.1f}  {r['reads']} / {r['read_bytes']:,}")
sizes = sorted({s for s, _ in medians})
for cache in ("cold", "warm"):
    if (sizes[0], cache) in medians and len(sizes) > 1:
        small, large = medians[(sizes[0], cache)], medians[(sizes[-1], cache)]
        print(f"  {cache}: {sizes[-1] / sizes[0]:.0f}x the log -> {large / small:.2f}x the recovery "
              f"time ({'proportional to the tail' if large / small < 1.5 else 'grows with the log'})")
PY
}

if [[ ${run_fio_part} == 0 ]]; then
    recover_bench
    exit 0
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

# Steady state: 512 MiB appended first (not timed) into a log that keeps 256
# MiB (64 MiB segments), so the timed appends roll into reused segment files.
steady="--warmup-bytes 536870912 --retention-bytes 268435456"
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
    # A fresh log (every write extends a new file), shown but not judged.
    echo "\"nofsync_fresh\": $("${load}" nofsync "${tmp}/log" --bytes 1073741824 --seconds 20 \
        --inflight 128),"
    echo "\"groupcommit_fresh\": $("${load}" groupcommit "${tmp}/log" --seconds 5 --inflight 64),"
    # Judged: the log's steady state under retention, where a roll reuses the
    # file of a segment retention dropped (LogConfig::spare_segments_max), so
    # writes go over blocks the file system has written before.
    echo "\"nofsync\": $("${load}" nofsync "${tmp}/log" --bytes 1073741824 --seconds 20 \
        --inflight 128 ${steady}),"
    gc="$("${load}" groupcommit "${tmp}/log" --seconds 5 --inflight 64 ${steady})"
    echo "\"groupcommit\": ${gc},"
    half="$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["mb_per_s"] / 2)' \
        "${gc}")"
    echo "\"groupcommit_half\": $("${load}" groupcommit "${tmp}/log" --seconds 5 --inflight 64 \
        --rate-mbps "${half}" ${steady}),"
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
nff, gcf = r["nofsync_fresh"], r["groupcommit_fresh"]

print(f"host {r['host']}, {r['date']}, fio engine {r['engine']} (O_DIRECT run)")
print("fio references (median of 3):")
print(f"  (a) O_DIRECT 1 MiB sequential writes  {direct:9.1f} MB/s")
print(f"  (b) buffered 1 MiB sequential writes  {buffered:9.1f} MB/s")
print(f"  (c) 4 KiB write + fdatasync           {sync_iops:9.1f} IOPS, fdatasync p50 "
      f"{sync_p50:.0f} us, p99 {sync_p99:.0f} us (write clat p99 {wr_p99:.0f} us)")
print("samsa-log-load:")
for run in (nff, gcf, nf, gc, half, tail):
    if not run["ok"]:
        print(f"  {run['mode']}: FAILED ({run['failure']}, {run['errors']} errors)")
print(f"  fresh log (not judged): nofsync {nff['mb_per_s']:.1f} MB/s = "
      f"{nff['mb_per_s'] / direct:.2f} x (a); groupcommit {gcf['mb_per_s']:.1f} MB/s = "
      f"{gcf['mb_per_s'] / direct:.2f} x (a), p99 {gcf['p99_us']:.0f} us")
print(f"  steady state under retention, segment files reused "
      f"({nf['recycled']}, {gc['recycled']}, {half['recycled']} rolls into spares):")
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

if [[ ${run_recover_part} != 0 ]]; then recover_bench; fi
