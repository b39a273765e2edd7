#!/usr/bin/env bash
# Runs samsa's benchmarks and summarises them.
#
# Usage: bench/run.sh BUILD_DIR [EXTRA_BENCHMARK_ARGS...]
#   e.g. bash bench/run.sh build-release
#        bash bench/run.sh build-release --benchmark_filter=Kernel
#
# Runs BUILD_DIR/bench/samsa-bench with 3 repetitions (aggregates only) and a
# minimum of 0.5 s per run, prints the console table and writes it to
# BUILD_DIR/bench-results.txt, writes the JSON to BUILD_DIR/bench-results.json,
# then prints the medians: kernel events/s per node count and their ratio to
# the same-run reference heap, messages/s, network-model messages/s, the
# simulation speed, and whether the >= 5,000,000 events/s target is met.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: bench/run.sh BUILD_DIR [EXTRA_BENCHMARK_ARGS...]" >&2
    exit 2
fi
build="$1"
shift

exe="${build}/bench/samsa-bench"
if [[ ! -x "${exe}" ]]; then
    echo "bench/run.sh: ${exe} not found; build it first (make bench)" >&2
    exit 1
fi
json="${build}/bench-results.json"
console="${build}/bench-results.txt"
python=/usr/bin/python3

echo "==> ${exe} (results: ${json})"
"${exe}" \
    --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true \
    --benchmark_min_time=0.5 \
    --benchmark_out="${json}" \
    --benchmark_out_format=json \
    "$@" | tee "${console}"

echo
echo "==> summary (medians of 3 repetitions; rates per CPU second)"
"${python}" - "${json}" <<'PY'
import json
import sys

TARGET = 5_000_000

with open(sys.argv[1]) as f:
    report = json.load(f)

context = report.get("context", {})
medians = {}
cvs = {}
for entry in report.get("benchmarks", []):
    if entry.get("error_occurred"):
        print(f"ERROR {entry.get('run_name')}: {entry.get('error_message')}")
        continue
    kind = entry.get("aggregate_name")
    if kind == "median":
        medians[entry["run_name"]] = entry
    elif kind == "cv":
        cvs[entry["run_name"]] = entry


def rate(name, key="items_per_second"):
    entry = medians.get(name)
    return None if entry is None or key not in entry else float(entry[key])


def spread(name):
    entry = cvs.get(name)
    if entry is None:
        return ""
    return f"  (cv {100.0 * float(entry.get('cpu_time', 0.0)):.1f}%)"


def fmt(value, unit="/s"):
    return "n/a" if value is None else f"{value:,.0f}{unit}"


print(f"host: {context.get('host_name', '?')}, {context.get('num_cpus', '?')} cpus, "
      f"{context.get('mhz_per_cpu', '?')} MHz, date {context.get('date', '?')}")
print()
print("kernel, trivial timer handlers (events/s; ratio = kernel / reference heap):")
checked = []
for nodes in (1, 16, 256):
    kernel = rate(f"BM_KernelTimerEvents/nodes:{nodes}")
    heap = rate(f"BM_ReferenceHeap/size:{nodes}")
    ratio = "n/a" if kernel is None or not heap else f"{kernel / heap:.3f}"
    print(f"  N={nodes:<4} kernel {fmt(kernel):>16}  reference heap {fmt(heap):>16}  "
          f"ratio {ratio}{spread(f'BM_KernelTimerEvents/nodes:{nodes}')}")
    if kernel is not None:
        checked.append((nodes, kernel))
print()
heap16 = rate("BM_ReferenceHeap/size:16")


def vs_heap16(value):
    return "n/a" if value is None or not heap16 else f"{value / heap16:.3f}"


print("kernel, ping-pong messages (messages delivered/s; ratio = / reference heap size 16):")
for nodes in (3, 16):
    for payload in (0, 16):
        name = f"BM_KernelMessages/nodes:{nodes}/payload:{payload}"
        print(f"  N={nodes:<3} payload {payload:>2} B  {fmt(rate(name)):>16}  "
              f"ratio {vs_heap16(rate(name))}{spread(name)}")
print()
print("network model alone, 16 nodes (messages sent/s; ratio = / reference heap size 16):")
for faults, label in ((0, "FaultPlan::none()"), (1, "loss+duplicate+reorder 5%")):
    name = f"BM_NetworkModelSend/faults:{faults}"
    print(f"  {label:<26} {fmt(rate(name)):>16}  ratio {vs_heap16(rate(name))}{spread(name)}")
print()
UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
scenario = medians.get("BM_KernelScenario")
print("kernel scenario (5 nodes, 10 s swarm safety phase + healed liveness phase):")
if scenario is None or "sim_speed" not in scenario:
    print("  n/a")
else:
    wall = float(scenario["real_time"]) * UNIT_SECONDS[scenario.get("time_unit", "ns")]
    wall_speed = float(scenario["sim_seconds"]) / wall if wall > 0 else float("nan")
    print(f"  sim speed {float(scenario['sim_speed']):,.0f}x real time per CPU second, "
          f"{wall_speed:,.0f}x per wall second; "
          f"{fmt(rate('BM_KernelScenario'), ' events/s')}{spread('BM_KernelScenario')}")
print()
if not checked:
    print(f"target >= {TARGET:,} events/s: NOT MEASURED")
else:
    worst_nodes, worst = min(checked, key=lambda item: item[1])
    verdict = "MET" if worst >= TARGET else "NOT MET"
    print(f"target >= {TARGET:,} events/s: {verdict} "
          f"(slowest: N={worst_nodes} at {worst:,.0f} events/s)")
PY
