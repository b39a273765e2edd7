"""What the integration tests share: Kafka request framing over raw sockets, and one real
`samsa broker` process on an ephemeral loopback port.

Imported by the test scripts in this folder (Python puts a script's own folder on sys.path).
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading

TIMEOUT = 10


def frame(api_key, version, correlation_id, body=b"", client_id=b"test"):
    """A whole request: size, request header v1 and `body`."""
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def read_response(sock):
    """(correlation id, body after it) of the next response on `sock`."""
    (size,) = struct.unpack(">i", read_exactly(sock, 4))
    body = read_exactly(sock, size)
    (correlation_id,) = struct.unpack(">i", body[:4])
    return correlation_id, body[4:]


def kafka_string(text):
    data = text.encode()
    return struct.pack(">h", len(data)) + data


class Broker:
    """One `samsa broker` process listening on 127.0.0.1:0. Its output is drained by threads so
    that a chatty broker never blocks on a full pipe; the last lines are kept for failure
    messages. `data_dir` given: the data is kept after stop() (for restarts)."""

    def __init__(self, binary, data_dir=None, node_id=7, extra_args=()):
        self.dir = data_dir or tempfile.mkdtemp(prefix="samsa-test-")
        self.keep_dir = data_dir is not None
        self.lines = []
        self.proc = subprocess.Popen(
            [binary, "broker", "--node-id", str(node_id), "--listen", "127.0.0.1:0",
             "--data-dir", self.dir, *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError("broker did not start: %r %s" % (line, self.proc.stderr.read()))
        self.address = line.split("listening on ")[1].split()[0]
        host, port = self.address.rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.threads = [threading.Thread(target=self._drain, args=(stream,), daemon=True)
                        for stream in (self.proc.stdout, self.proc.stderr)]
        for thread in self.threads:
            thread.start()

    def _drain(self, stream):
        for line in stream:
            self.lines.append(line.rstrip("\n"))
            del self.lines[:-40]

    def connect(self):
        return socket.create_connection((self.host, self.port), timeout=TIMEOUT)

    def log_tail(self):
        if not self.lines:
            return ""
        return "\nbroker output (last lines):\n  " + "\n  ".join(self.lines[-40:])

    def stop(self):
        """SIGTERM, then the exit status (killed after TIMEOUT seconds)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        for thread in self.threads:
            thread.join(timeout=TIMEOUT)
        self.proc.stdout.close()
        self.proc.stderr.close()
        if not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return code


# The kafkajs release the tests install with npm.
KAFKAJS = "kafkajs@2.2.4"


def node_cache_from_argv(argv):
    """Where npm packages are installed: the optional argument after the samsa
    binary (removed from argv), else $SAMSA_NODE_CACHE, else a temp folder."""
    if len(argv) > 1 and not argv[1].startswith("-"):
        return os.path.abspath(argv.pop(1))
    return os.environ.get("SAMSA_NODE_CACHE") or os.path.join(
        tempfile.gettempdir(), "samsa-node-cache")


def install_npm_package(cache_dir, spec, timeout=180):
    """Makes the npm package `spec` ("name@version") importable from `cache_dir`, running
    `npm install` into it only when that exact version is not there yet. Returns the
    node_modules folder (for NODE_PATH). Raises RuntimeError when node or npm is missing or the
    install fails: a test needing the package should fail on that, not be skipped."""
    name, _, version = spec.rpartition("@")
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise RuntimeError("%s is not on PATH (needed for %s)" % (tool, spec))
    modules = os.path.join(cache_dir, "node_modules")
    manifest = os.path.join(modules, name, "package.json")
    try:
        with open(manifest) as f:
            if json.load(f).get("version") == version:
                return modules
    except (OSError, ValueError):
        pass
    os.makedirs(cache_dir, exist_ok=True)
    command = ["npm", "install", "--no-audit", "--no-fund", "--prefix", cache_dir, spec]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError("%s: no answer within %d s (npm registry unreachable?)"
                           % (" ".join(command), timeout))
    if done.returncode != 0 or not os.path.exists(manifest):
        raise RuntimeError("%s failed (exit %d):\n%s"
                           % (" ".join(command), done.returncode, done.stderr[-3000:]))
    return modules
