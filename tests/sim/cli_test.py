"""Behaviour of `samsa sim` as a user sees it: replay, digests, the
determinism check, and errors for bad options. Usage: cli_test.py SAMSA."""
import re
import subprocess
import sys

SAMSA = sys.argv[1]
failures = []


def run(*args):
    done = subprocess.run([SAMSA, *args], capture_output=True, text=True, timeout=240)
    return done.returncode, done.stdout + done.stderr


def check(condition, what, output=""):
    if condition:
        print(f"ok: {what}")
    else:
        failures.append(what)
        print(f"FAIL: {what}\n{output}")


def digest_of(output):
    found = re.findall(r"^digest: ([0-9a-f]{16})$", output, re.MULTILINE)
    return found[0] if len(found) == 1 else None


# One run prints the seed, the fault plan, faults fired, the verdict and a digest.
code, out = run("sim", "--scenario", "kernel", "--seed", "42", "--duration", "10s")
check(code == 0, "kernel seed 42 passes", out)
check("seed=42" in out, "report names the seed", out)
check(re.search(r"^faults fired: ", out, re.MULTILINE), "report lists faults fired", out)
check(re.search(r"^checkers: ok$", out, re.MULTILINE), "report gives the checkers' verdict", out)
first = digest_of(out)
check(first is not None, "report ends with one 'digest: <16 hex>' line", out)

# The same seed replays to the same digest; other seeds give other digests.
_, again = run("sim", "--scenario", "kernel", "--seed", "42", "--duration", "10s")
check(digest_of(again) == first, "same seed, same digest", again)
others = set()
for seed in ("43", "44", "45"):
    _, other = run("sim", "--scenario", "kernel", "--seed", seed, "--duration", "10s")
    others.add(digest_of(other))
check(first not in others and len(others) == 3, "different seeds, different digests")

# --check-determinism passes on the kernel and catches the canary.
code, out = run("sim", "--scenario", "kernel", "--seed", "7", "--duration", "10s",
                "--check-determinism")
check(code == 0 and "determinism: ok" in out, "kernel is deterministic", out)
code, out = run("sim", "--scenario", "canary-nondeterminism", "--check-determinism")
check(code == 1, "nondeterministic canary fails the run", out)
check(re.search(r"determinism: DIVERGED at event #\d+", out), "names the divergent event", out)
check(re.search(r"run 1: #\d+ t=", out) and re.search(r"run 2 event: ", out),
      "shows both runs' versions of the event", out)
check("replay: samsa sim --scenario canary-nondeterminism" in out, "prints the replay command", out)

# The log checkers catch a log that acknowledges before fsync (a canary).
code, out = run("sim-sweep", "--scenario", "canary-log-ack-before-fsync", "--seeds", "40",
                "--no-determinism", "--faults", "crash=20")
check(code == 1 and "lost acknowledged" in out, "log checker catches ack-before-fsync", out)

# --faults and --nodes are honoured.
code, out = run("sim", "--seed", "3", "--duration", "5s", "--faults", "none")
check(code == 0 and "faults fired: (none)" in out, "--faults none injects nothing", out)
code, out = run("sim", "--seed", "3", "--duration", "5s", "--faults", "crash=30,partition=30")
check(code == 0 and "crash=" in out.split("faults fired:")[1].splitlines()[0],
      "--faults crash=30 crashes nodes", out)
code, out = run("sim", "--seed", "3", "--duration", "5s", "--nodes", "2")
check(code == 0 and "nodes=2" in out, "--nodes 2", out)

# Bad options get a clear error and exit status 2 (CLI11 parse errors: 105/106/109).
for args, what in [
    (("sim", "--faults", "bogus"), "unknown fault kind"),
    (("sim", "--scenario", "nope"), "unknown scenario"),
    (("sim", "--nodes", "0"), "--nodes"),
    (("sim", "--duration", "soon"), "is not a duration"),
]:
    code, out = run(*args)
    check(code != 0 and what in out, f"bad option: {' '.join(args)}", out)

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
