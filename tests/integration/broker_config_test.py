#!/usr/bin/python3
"""`samsa broker --config FILE`: the real process reading a TOML config file.

Checks that the file's settings reach the broker (node id and cluster id in Metadata, the default
partition count of a topic created with num_partitions -1), that flags override the file, and
that a bad file or flag - unknown key, syntax error, replication factor 3, a value out of range -
stops the process with exit status 1 and one line on stderr naming the file and line (or flag)
before it listens.

Usage: broker_config_test.py SAMSA_BINARY
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import unittest

from samsa_testing import frame, kafka_string, read_exactly

SAMSA = None
TIMEOUT = 10


def request(address, api_key, version, body):
    """Sends one request, returns the response body after the correlation id."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(frame(api_key, version, 42, body))
        (size,) = struct.unpack(">i", read_exactly(sock, 4))
        body = read_exactly(sock, size)
    (correlation_id,) = struct.unpack(">i", body[:4])
    assert correlation_id == 42, correlation_id
    return body[4:]


class Reader:
    """Reads Kafka's big-endian fields from a response body, front to back."""

    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, fmt):
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string(self):
        size = self.take(">h")
        if size < 0:
            return None
        text = self.data[self.at:self.at + size].decode()
        self.at += size
        return text


def create_topic_with_default_partitions(address, name):
    """CreateTopics v1 with num_partitions -1: the broker's num_partitions decides. -> error."""
    topic = kafka_string(name) + struct.pack(">ihii", -1, 1, 0, 0)  # no assignments, no configs
    body = struct.pack(">i", 1) + topic + struct.pack(">ib", 10000, 0)
    reader = Reader(request(address, 19, 1, body))
    assert reader.take(">i") == 1
    assert reader.string() == name
    return reader.take(">h")


def metadata(address, topic):
    """Metadata v2 for one topic -> (broker ids, cluster id, partition count of the topic)."""
    reader = Reader(request(address, 3, 2, struct.pack(">i", 1) + kafka_string(topic)))
    brokers = []
    for _ in range(reader.take(">i")):
        brokers.append(reader.take(">i"))
        reader.string()  # host
        reader.take(">i")  # port
        reader.string()  # rack
    cluster_id = reader.string()
    reader.take(">i")  # controller
    assert reader.take(">i") == 1
    error, name, _internal = reader.take(">h"), reader.string(), reader.take(">b")
    assert error == 0 and name == topic, (error, name)
    return brokers, cluster_id, reader.take(">i")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class BrokerConfigTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="samsa-broker-config-test-")
        self.data_dir = os.path.join(self.dir, "data")
        self.procs = []

    def tearDown(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(timeout=TIMEOUT), 0, "exit status after SIGTERM")
            proc.wait(timeout=TIMEOUT)
            proc.stdout.close()
            proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_config(self, text, name="samsa.toml"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self, *args):
        proc = subprocess.Popen([SAMSA, "broker"] + list(args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        return proc

    def start_serving(self, *args):
        proc = self.start(*args)
        line = proc.stdout.readline()
        if "listening on " not in line:
            self.fail("broker did not start: %r %s" % (line, proc.stderr.read()))
        return line.split("listening on ")[1].split()[0]

    def assert_refused(self, config_text, expected, *flags):
        """The broker stops before listening: status 1, one line on stderr containing each of
        `expected`, nothing on stdout and nothing on the file's port."""
        port = free_port()
        path = self.write_config(config_text.replace("PORT", str(port)))
        proc = self.start("--config", path, "--data-dir", self.data_dir, *flags)
        code = proc.wait(timeout=TIMEOUT)
        out, err = proc.stdout.read(), proc.stderr.read()
        self.assertEqual(code, 1, err)
        self.assertEqual(out, "")
        self.assertEqual(len(err.splitlines()), 1, err)
        for text in expected:
            self.assertIn(text.replace("FILE", path), err)
        self.assertFalse(listening(port), "something listens on the configured port")
        return err

    def test_file_settings_reach_the_broker(self):
        path = self.write_config(
            "# from the test\n"
            "[broker]\n"
            "node_id = 5\n"
            'listen = "127.0.0.1:0"\n'
            'data_dir = "%s"\n'
            'cluster_id = "config-test"\n'
            "num_partitions = 3\n"
            "auto_create_topics = false\n"
            "log_segment_bytes = 1_048_576\n"
            "log_retention_ms = -1\n" % self.data_dir)
        address = self.start_serving("--config", path)
        self.assertEqual(create_topic_with_default_partitions(address, "defaulted"), 0)
        brokers, cluster_id, partitions = metadata(address, "defaulted")
        self.assertEqual(brokers, [5])
        self.assertEqual(cluster_id, "config-test")
        self.assertEqual(partitions, 3)
        self.assertTrue(os.path.isdir(self.data_dir), "data_dir from the file is not used")

    def test_flags_override_the_file(self):
        path = self.write_config('node_id = 5\nlisten = "127.0.0.1:0"\nnum_partitions = 3\n'
                                 'cluster_id = "from-file"\n')
        address = self.start_serving("--config", path, "--num-partitions", "2", "--node-id", "9",
                                     "--data-dir", self.data_dir)
        self.assertEqual(create_topic_with_default_partitions(address, "flagged"), 0)
        brokers, cluster_id, partitions = metadata(address, "flagged")
        self.assertEqual(brokers, [9])
        self.assertEqual(cluster_id, "from-file")
        self.assertEqual(partitions, 2)

    def test_bad_config_files_stop_the_broker_before_it_listens(self):
        cases = {
            "unknown key": ('listen = "127.0.0.1:PORT"\n# two\nnum_partition = 3\n',
                            ["FILE:3: unknown key 'num_partition'"]),
            "syntax error": ('[broker]\nlisten = "127.0.0.1:PORT"\nnode_id 4\n',
                             ["FILE:3: syntax error"]),
            "replication factor": ('listen = "127.0.0.1:PORT"\ndefault_replication_factor = 3\n',
                                   ["FILE:2: default_replication_factor must be 1, not 3",
                                    "single broker"]),
            "other table": ('listen = "127.0.0.1:PORT"\n[log]\n', ["FILE:2: unknown table [log]"]),
            "wrong type": ('listen = "127.0.0.1:PORT"\nnum_partitions = "3"\n',
                           ["FILE:2: num_partitions must be an integer, not a string"]),
            "duplicate key": ('listen = "127.0.0.1:PORT"\nnode_id = 1\nnode_id = 2\n',
                              ["FILE:3: duplicate key 'node_id' (first set on line 2)"]),
        }
        for name, (text, expected) in cases.items():
            with self.subTest(name):
                self.assert_refused(text, expected)

    def test_bad_flag_or_missing_file_stops_the_broker(self):
        self.assert_refused('listen = "127.0.0.1:PORT"\n',
                            ["--message-max-bytes must be from 1024 (1 KiB) to 67108864 (64 MiB), "
                             "not 10"], "--message-max-bytes", "10")
        self.assert_refused('listen = "127.0.0.1:PORT"\n',
                            ["--auto-create-topics must be true or false, not 'maybe'"],
                            "--auto-create-topics", "maybe")
        proc = self.start("--config", os.path.join(self.dir, "missing.toml"))
        self.assertEqual(proc.wait(timeout=TIMEOUT), 1)
        self.assertIn("cannot read config file", proc.stderr.read())


if __name__ == "__main__":
    SAMSA = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
