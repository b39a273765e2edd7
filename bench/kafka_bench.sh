#!/usr/bin/env bash
# samsa against librdkafka's in-memory mock cluster, over the Kafka protocol,
# measured in the same run with the same generator (samsa-kafka-perf).
#
# Usage: bash bench/kafka_bench.sh BUILD_DIR      e.g. bash bench/kafka_bench.sh build-release
#
# Needs BUILD_DIR/runtime/samsa, BUILD_DIR/bench/samsa-kafka-perf, fio, and
# peerbench's kmock (PEERBENCH, default ../shared/peerbench next to the repo):
# its build/kmock when built, else src/kmock.cpp compiled into the temp dir
# (c++ + librdkafka). The mock is started with peerbench's scripts/kmock.sh,
# with its data and pid files in the temp dir.
#
# Works in BUILD_DIR/kafka-bench-tmp (same filesystem as the build; removed
# afterwards, and every server started here is stopped, also on failure),
# writes every raw JSON line to BUILD_DIR/kafka-bench-results.json and prints a
# summary with samsa's figures as ratios to the mock's and the Kafka-protocol
# issue's targets, each MET or NOT MET:
#   produce 100 B records        >= 60% of the mock's records/s
#   produce 1 KiB records        >= 75% of the mock's MB/s
#   one record at a time (K=1)   p50 <= mock p50 + fio fdatasync p50 + 100 us; p99 <= 1.5 ms
#   consume from the beginning   >= 1 M records/s (100 B), >= 900 MB/s (1 KiB)
# Producers use acks=all (samsa: one broker, answered after the fsync that
# covers the batch), no idempotence, linger.ms 5 (0 for K=1), a window of
# KB_INFLIGHT unacknowledged records. samsa auto-creates 1-partition topics and
# consumes the topics its produce runs wrote. The mock keeps only ~5 MiB per
# partition, so its consume runs read a 64-partition topic loaded beforehand
# with per-record random partitioning (sticky.partitioning.linger.ms=0); those
# mock consume figures are a reference only (the consume targets are absolute).
# Each case runs KB_REPEATS times, mock and samsa alternating; the summary
# uses medians. After each repetition, fio on the same filesystem: 5 s of
# 4 KiB write + fdatasync, buffered psync as bench/log_bench.sh runs it (the
# latency target uses the median of its p50s), then the same with O_DIRECT
# writes (the log writes O_DIRECT), shown as a second bound. This disk's
# fdatasync latency swings by 10x within minutes, hence fio between repetitions.
#
# Before the repetitions: one produce 1 KiB run against the fresh samsa broker
# (shown as such, not judged), then a warm-up of both servers that fills
# samsa's batch cache, so the repetitions measure its steady state.
#
# Sizes (environment): KB_SMALL_RECORDS [1000000] 100 B records per run,
# KB_LARGE_RECORDS [200000] 1 KiB records per run, KB_WARMUP_RECORDS
# [1300000] 1 KiB records (more than the 1 GiB cache), KB_LAT_RECORDS [5000],
# KB_INFLIGHT [10000], KB_REPEATS [3], KB_TIMEOUT_S [120] per run.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: bench/kafka_bench.sh BUILD_DIR" >&2
    exit 2
fi
repo="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "$1" && pwd)"
samsa="${build}/runtime/samsa"
perf="${build}/bench/samsa-kafka-perf"
peerbench="$(cd "${PEERBENCH:-${repo}/../shared/peerbench}" && pwd)"
small_n="${KB_SMALL_RECORDS:-1000000}"
large_n="${KB_LARGE_RECORDS:-200000}"
warmup_n="${KB_WARMUP_RECORDS:-1300000}"
lat_n="${KB_LAT_RECORDS:-5000}"
inflight="${KB_INFLIGHT:-10000}"
repeats="${KB_REPEATS:-3}"
timeout_s="${KB_TIMEOUT_S:-120}"
mock_parts=64

for exe in "${samsa}" "${perf}"; do
    if [[ ! -x "${exe}" ]]; then
        echo "kafka_bench.sh: ${exe} not found; build it first (ninja -C $1)" >&2
        exit 1
    fi
done
if ! command -v fio >/dev/null; then
    echo "kafka_bench.sh: fio not found (apt-get install fio)" >&2
    exit 1
fi
if [[ ! -f "${peerbench}/scripts/kmock.sh" ]]; then
    echo "kafka_bench.sh: peerbench not found at ${peerbench} (set PEERBENCH)" >&2
    exit 1
fi

tmp="${build}/kafka-bench-tmp"
results="${build}/kafka-bench-results.json"
broker_pid=""
pb_data="${tmp}/peerbench-data"
pb_build="${peerbench}/build"

cleanup() {
    if [[ -n "${broker_pid}" ]] && kill -0 "${broker_pid}" 2>/dev/null; then
        kill -TERM "${broker_pid}" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "${broker_pid}" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "${broker_pid}" 2>/dev/null || true
        wait "${broker_pid}" 2>/dev/null || true
    fi
    if [[ -f "${pb_data}/kmock.pid" ]]; then
        PB_DATA="${pb_data}" PB_BUILD="${pb_build}" bash "${peerbench}/scripts/kmock.sh" stop ||
            true
    fi
    rm -rf "${tmp}"
}
rm -rf "${tmp}"
mkdir -p "${tmp}" "${pb_data}"
trap cleanup EXIT
trap 'exit 130' INT TERM

# peerbench's kmock: its own build when there is one, else just kmock.cpp.
if [[ ! -x "${pb_build}/kmock" ]]; then
    pb_build="${tmp}/peerbench-build"
    mkdir -p "${pb_build}"
    # shellcheck disable=SC2046
    c++ -std=c++20 -O2 -o "${pb_build}/kmock" "${peerbench}/src/kmock.cpp" \
        $(pkg-config --cflags --libs rdkafka)
fi

free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {  # PORT: up to 20 s
    for _ in $(seq 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "kafka_bench.sh: nothing listening on 127.0.0.1:$1 after 20 s" >&2
    return 1
}
cpu_ticks() {  # PID: user + system clock ticks so far (0 when gone)
    awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

# ---- servers ---------------------------------------------------------------
mock_bs="$(PB_DATA="${pb_data}" PB_BUILD="${pb_build}" PB_MAX_LIFE=3600 \
    bash "${peerbench}/scripts/kmock.sh" start 1 \
    "p100:1,p1k:1,lat:1,c100:${mock_parts},c1k:${mock_parts}")"
mock_wrapper="$(cat "${pb_data}/kmock.pid")"
mock_pid="$(pgrep -P "${mock_wrapper}" | head -n 1 || true)"
mock_pid="${mock_pid:-${mock_wrapper}}"

port="$(free_port)"
"${samsa}" broker --node-id 1 --listen "127.0.0.1:${port}" --data-dir "${tmp}/samsa-data" \
    >"${tmp}/samsa.log" 2>&1 &
broker_pid=$!
wait_port "${port}"
samsa_bs="127.0.0.1:${port}"
hz="$(getconf CLK_TCK)"

# run SYSTEM CASE REP perf-args...: one samsa-kafka-perf run, its JSON line
# (tagged, with the server's CPU seconds) appended to the results.
run() {
    local system="$1" case="$2" rep="$3" bs pid before after line
    shift 3
    if [[ ${system} == mock ]]; then bs="${mock_bs}" pid="${mock_pid}"; else bs="${samsa_bs}" pid="${broker_pid}"; fi
    before="$(cpu_ticks "${pid}")"
    line="$("${perf}" --bootstrap "${bs}" --timeout-s "${timeout_s}" "$@" | tail -n 1)"
    after="$(cpu_ticks "${pid}")"
    /usr/bin/python3 - "${system}" "${case}" "${rep}" "${line}" "$((after - before))" "${hz}" \
        >>"${results}" <<'PY'
import json
import sys

system, case, rep, line, ticks, hz = sys.argv[1:]
r = json.loads(line)
r.update(system=system, case=case, rep=int(rep), server_cpu_s=int(ticks) / int(hz))
print(json.dumps(r))
PY
    /usr/bin/python3 - "${results}" <<'PY'
import json
import sys

r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
lat = f", p50 {r['lat_us']['p50']:.0f} us p99 {r['lat_us']['p99']:.0f} us" if "lat_us" in r else ""
bad = f", {r['errors']} ERRORS ({r['first_error']})" if r["errors"] else ""
bad += ", TIMED OUT" if r["timed_out"] else ""
print(f"  {r['system']:5} {r['case']:10} #{r['rep']}: {r['records']:>9,} records in "
      f"{r['elapsed_s']:6.3f} s = {r['records_per_s']:>11,.0f} rec/s {r['mb_per_s']:8.1f} MB/s"
      f"{lat}, server CPU {r['server_cpu_s']:.2f} s{bad}")
PY
}

# fio_once DIRECT: one 5 s run of 4 KiB write + fdatasync (psync) in the temp
# dir, its percentiles appended to the results.
fio_once() {
    local json
    json="$(fio --name=fdatasync --filename="${tmp}/fio.dat" --runtime=5 --output-format=json \
        --rw=write --bs=4k --fdatasync=1 --size=256M --time_based --ioengine=psync \
        --direct="$1" | /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))')"
    rm -f "${tmp}/fio.dat"
    /usr/bin/python3 - "${json}" "$1" "${rep}" >>"${results}" <<'PY'
import json
import sys

j = json.loads(sys.argv[1])["jobs"][0]
pct = lambda k: float(j["sync"]["lat_ns"]["percentile"][k]) / 1e3
r = {"system": "fio", "case": "fdatasync-4k", "direct": int(sys.argv[2]), "rep": int(sys.argv[3]),
     "p50_us": pct("50.000000"), "p99_us": pct("99.000000"), "iops": j["write"]["iops"]}
print(json.dumps(r))
print(f"  fio   direct={r['direct']}   #{r['rep']}: fdatasync p50 {r['p50_us']:.0f} us, "
      f"p99 {r['p99_us']:.0f} us, {r['iops']:.0f} IOPS", file=sys.stderr)
PY
}

: >"${results}"
echo "==> load average at the start: $(cut -d ' ' -f 1-3 /proc/loadavg) ($(nproc) CPUs)"
echo "==> mock ${mock_bs} (kmock pid ${mock_pid}), samsa ${samsa_bs} (pid ${broker_pid}, data in ${tmp}/samsa-data)"
echo "==> loading the mock's ${mock_parts}-partition consume topics (not timed)"
run mock load-100 0 --mode produce --topic c100 --records "${small_n}" --size 100 \
    --inflight "${inflight}" --acks all --conf sticky.partitioning.linger.ms=0
run mock load-1k 0 --mode produce --topic c1k --records "${large_n}" --size 1024 \
    --inflight "${inflight}" --acks all --conf sticky.partitioning.linger.ms=0

# A fresh broker's first ~1 GiB goes into memory it touches for the first time
# (its batch cache fills up to cache_bytes_max, 1 GiB), which costs this
# machine as much CPU as everything else on the produce path together (fresh
# pages are written at ~3 GB/s here, reused ones at ~25 GB/s). That start is
# measured once and shown; the repetitions then run against a broker whose
# cache is full, as any broker is after its first GiB. The mock gets the same
# warm-up.
echo "==> a fresh samsa broker's first produce run, then the warm-up (${warmup_n} records of 1 KiB each)"
run samsa produce-1k-fresh 0 --mode produce --topic p1k-fresh --records "${large_n}" --size 1024 \
    --inflight "${inflight}" --acks all
run samsa warmup 0 --mode produce --topic warmup --records "${warmup_n}" --size 1024 \
    --inflight "${inflight}" --acks all
run mock warmup 0 --mode produce --topic warmup --records "${warmup_n}" --size 1024 \
    --inflight "${inflight}" --acks all

for rep in $(seq "${repeats}"); do
    echo "==> repetition ${rep} of ${repeats}"
    for system in mock samsa; do
        if [[ ${system} == mock ]]; then sfx=""; else sfx="-r${rep}"; fi
        run "${system}" produce-100 "${rep}" --mode produce --topic "p100${sfx}" \
            --records "${small_n}" --size 100 --inflight "${inflight}" --acks all
        run "${system}" produce-1k "${rep}" --mode produce --topic "p1k${sfx}" \
            --records "${large_n}" --size 1024 --inflight "${inflight}" --acks all
        run "${system}" k1 "${rep}" --mode produce --topic "lat${sfx}" --records "${lat_n}" \
            --size 100 --inflight 1 --linger-ms 0 --acks all
        if [[ ${system} == mock ]]; then
            run mock consume-100 "${rep}" --mode consume --topic c100 --records "${small_n}" --size 100
            run mock consume-1k "${rep}" --mode consume --topic c1k --records "${large_n}" --size 1024
        else
            run samsa consume-100 "${rep}" --mode consume --topic "p100${sfx}" --records "${small_n}" \
                --size 100
            run samsa consume-1k "${rep}" --mode consume --topic "p1k${sfx}" --records "${large_n}" \
                --size 1024
        fi
    done
    fio_once 0
    fio_once 1
done

echo "==> load average at the end: $(cut -d ' ' -f 1-3 /proc/loadavg)"
kill -0 "${broker_pid}" 2>/dev/null || echo "WARNING: the samsa broker exited during the run (log below)"

echo "==> summary (raw results: ${results})"
/usr/bin/python3 - "${results}" "${repeats}" <<'PY'
import json
import statistics
import sys

lines = [json.loads(l) for l in open(sys.argv[1])]
fio, fio_direct = ({k: [l[k] for l in lines if l["system"] == "fio" and l["direct"] == d]
                    for k in ("p50_us", "p99_us", "iops")} for d in (0, 1))
runs = [l for l in lines if l["system"] in ("mock", "samsa") and l["rep"] > 0]


def med(system, case, pick):
    vals = [pick(r) for r in runs if r["system"] == system and r["case"] == case]
    return statistics.median(vals) if vals else float("nan")


def verdict(ok):
    return "MET" if ok else "NOT MET"


rps = lambda r: r["records_per_s"]
mbps = lambda r: r["mb_per_s"]
p50 = lambda r: r["lat_us"]["p50"]
p99 = lambda r: r["lat_us"]["p99"]
fio_p50 = statistics.median(fio["p50_us"])
fio_p99 = statistics.median(fio["p99_us"])
fiod_p50 = statistics.median(fio_direct["p50_us"])
print(f"medians of {sys.argv[2]} repetition(s)")
for name, f in (("buffered", fio), ("O_DIRECT", fio_direct)):
    print(f"fio 4 KiB write + fdatasync, {name}: fdatasync p50 {statistics.median(f['p50_us']):.0f} us, "
          f"p99 {statistics.median(f['p99_us']):.0f} us ({statistics.median(f['iops']):.0f} IOPS)")
rows = []
m, s = med("mock", "produce-100", rps), med("samsa", "produce-100", rps)
rows.append(("produce 100 B, records/s", m, s, s / m, ">= 0.60 x mock", s >= 0.60 * m))
m, s = med("mock", "produce-1k", mbps), med("samsa", "produce-1k", mbps)
rows.append(("produce 1 KiB, MB/s", m, s, s / m, ">= 0.75 x mock", s >= 0.75 * m))
m, s = med("mock", "k1", p50), med("samsa", "k1", p50)
bound = m + fio_p50 + 100
rows.append(("one at a time, p50 us", m, s, s / m, f"<= {bound:.0f} (mock + fio + 100)", s <= bound))
strict = m + fiod_p50 + 100
rows.append(("  same, O_DIRECT fio", m, s, s / m, f"<= {strict:.0f} (mock + fio direct + 100)",
             s <= strict))
m, s = med("mock", "k1", p99), med("samsa", "k1", p99)
rows.append(("one at a time, p99 us", m, s, s / m, "<= 1500", s <= 1500))
m, s = med("mock", "consume-100", rps), med("samsa", "consume-100", rps)
rows.append(("consume 100 B, records/s", m, s, s / m, ">= 1,000,000", s >= 1e6))
m, s = med("mock", "consume-1k", mbps), med("samsa", "consume-1k", mbps)
rows.append(("consume 1 KiB, MB/s", m, s, s / m, ">= 900", s >= 900))
print(f"  {'case':26} {'mock':>12} {'samsa':>12} {'samsa/mock':>10}  {'target':34} verdict")
for name, m, s, ratio, target, ok in rows:
    print(f"  {name:26} {m:>12,.1f} {s:>12,.1f} {ratio:>10.2f}  {target:34} {verdict(ok)}")
fresh = [r["mb_per_s"] for r in lines if r.get("case") == "produce-1k-fresh"]
if fresh:
    m = med("mock", "produce-1k", mbps)
    print(f"  (a fresh samsa broker's first produce 1 KiB run, before its cache is full: "
          f"{fresh[0]:,.1f} MB/s = {fresh[0] / m:.2f} x the mock's median; shown, not judged)")
print("  (mock consume reads a 64-partition topic, samsa's a 1-partition one: reference only)")
k1 = [r for r in runs if r["case"] == "k1"]
for system in ("mock", "samsa"):
    mx = max((r["lat_us"]["max"] for r in k1 if r["system"] == system), default=0)
    p999 = med(system, "k1", lambda r: r["lat_us"]["p999"])
    mean = med(system, "k1", lambda r: r["lat_us"]["mean"])
    print(f"  one at a time, {system}: mean {mean:.0f} us, p99.9 {p999:.0f} us, max {mx:.0f} us")
bad = [r for r in lines if r.get("errors") or r.get("timed_out")]
for r in bad:
    print(f"  PROBLEM: {r['system']} {r['case']} #{r['rep']}: {r['errors']} errors "
          f"({r['first_error']}), timed_out {r['timed_out']}, {r['records']} records")
if not bad:
    print("  no errors, no timeouts")
PY
if [[ -s "${tmp}/samsa.log" ]]; then
    echo "==> samsa broker log (last 20 lines)"
    tail -n 20 "${tmp}/samsa.log"
fi
