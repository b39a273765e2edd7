#!/usr/bin/python3
"""samsa's own Kafka clients (`samsa topic`, `samsa produce`, `samsa consume`) end to end.

Against a real `samsa broker` process: topic create / list / describe / delete, 1,000 lines (half
keyed) produced and consumed back, keyed lines on the partition the Java client's murmur2 picks
(checked with kafka-python's Java-compatible murmur2), acks 0/1/all, --partition, --offset,
--max-messages, a consumer that waits for data produced after it started, and clear errors for a
missing topic, a bad --bootstrap and a gzip batch (produced by kafka-python). Consumer groups:
`consume --group` commits and resumes, `group list / describe / delete` (lag, NON_EMPTY_GROUP,
GROUP_ID_NOT_FOUND), SIGTERM commits and leaves, and two members split a topic's partitions. Against librdkafka's
mock cluster (../shared/tools/mockbroker.c, built here with gcc and librdkafka-dev), an independent
implementation of the protocol that lacks CreateTopics/DeleteTopics/DescribeConfigs and caps
Metadata at v2: produce and consume round trip, list, describe, and a clear error for create.

Usage: cli_test.py SAMSA_BINARY
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import samsa_testing

SAMSA = None
TIMEOUT = 10
HERE = os.path.dirname(os.path.abspath(__file__))
# The team's shared folder sits next to the repository; SAMSA_SHARED names it
# for a checkout elsewhere.
SHARED = os.environ.get("SAMSA_SHARED") or os.path.join(HERE, "..", "..", "..", "shared")
MOCKBROKER_C = os.path.normpath(os.path.join(SHARED, "tools", "mockbroker.c"))


def samsa(bootstrap, *args, stdin=None, timeout=60):
    """Runs `samsa ARGS --bootstrap BOOTSTRAP`; returns the CompletedProcess (text mode)."""
    return subprocess.run([SAMSA, *args, "--bootstrap", bootstrap], input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def java_partition(key, partitions):
    from kafka.partitioner.default import murmur2
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


class ClientTestBase(unittest.TestCase):
    bootstrap = None

    def run_ok(self, *args, stdin=None):
        out = samsa(self.bootstrap, *args, stdin=stdin)
        self.assertEqual(out.returncode, 0, "samsa %s: %s" % (" ".join(args), out.stderr))
        return out.stdout

    def consume_all(self, topic, *extra):
        """(partition, offset, key, value) of every record, read with --from-beginning."""
        stdout = self.run_ok("consume", topic, "--from-beginning", "--print-offset",
                             "--print-key", "--timeout-ms", "500", *extra)
        records = []
        for line in stdout.splitlines():
            position, key, value = line.split("\t", 2)
            partition, offset = position.split(":")
            records.append((int(partition), int(offset), key, value))
        return records


class SamsaBrokerTest(ClientTestBase):
    def setUp(self):
        self.broker = samsa_testing.Broker(SAMSA, node_id=1)
        self.bootstrap = self.broker.address

    def tearDown(self):
        self.assertEqual(self.broker.stop(), 0, "broker exit status after SIGTERM")

    def test_topic_create_list_describe(self):
        out = self.run_ok("topic", "create", "orders", "--partitions", "3",
                          "--replication-factor", "1")
        self.assertIn("created topic orders", out)
        self.run_ok("topic", "create", "events")
        # Internal topics are listed too, as kafka-topics.sh --list does.
        self.assertEqual(self.run_ok("topic", "list").split(), ["__consumer_offsets", "events", "orders"])
        again = samsa(self.bootstrap, "topic", "create", "orders", "--partitions", "3")
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("TOPIC_ALREADY_EXISTS", again.stderr)
        described = samsa(self.bootstrap, "topic", "describe", "orders")
        # Partitions and offsets come first, whatever happens to the configs below them.
        self.assertIn("topic: orders  partitions: 3  replication-factor: 1", described.stdout)
        for partition in range(3):
            self.assertIn("partition %d  leader 1  replicas [1]  isr [1]  log-start-offset 0  "
                          "log-end-offset 0" % partition, described.stdout)

    def test_describe_shows_topic_configs(self):
        self.run_ok("topic", "create", "configured", "--partitions", "1",
                    "--config", "retention.ms=3600000")
        out = self.run_ok("topic", "describe", "configured")
        self.assertIn("configs:", out)
        self.assertIn("retention.ms=", out)
        self.assertIn("cleanup.policy=", out)

    def test_topic_delete(self):
        self.run_ok("topic", "create", "doomed", "--partitions", "2")
        self.assertIn("deleted topic doomed", self.run_ok("topic", "delete", "doomed"))
        self.assertNotIn("doomed", self.run_ok("topic", "list").split())
        missing = samsa(self.bootstrap, "topic", "delete", "doomed")
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("does not exist", missing.stderr)

    def test_produce_then_consume_1000_lines_half_keyed(self):
        self.run_ok("topic", "create", "lines", "--partitions", "3")
        lines = []
        for i in range(1000):
            lines.append("key-%d\tkeyed-%d" % (i % 37, i) if i % 2 == 0 else "plain-%d" % i)
        self.run_ok("produce", "lines", stdin="".join(line + "\n" for line in lines))
        records = self.consume_all("lines")
        self.assertEqual(len(records), 1000)
        by_partition = {}
        for partition, offset, key, value in records:
            by_partition.setdefault(partition, []).append((offset, key, value))
            if value.startswith("keyed-"):
                self.assertEqual(key, "key-%d" % (int(value[6:]) % 37))
                self.assertEqual(partition, java_partition(key, 3),
                                 "%s is not on murmur2's partition" % key)
            else:
                self.assertEqual(key, "", "an unkeyed line printed a key")
        self.assertEqual(sorted(v for *_, v in records),
                         sorted(line.split("\t")[-1] for line in lines))
        for partition, got in by_partition.items():
            self.assertEqual([o for o, _, _ in got], list(range(len(got))))
            numbers = [int(v.split("-")[1]) for _, _, v in got]
            self.assertEqual(numbers, sorted(numbers), "partition %d order" % partition)
        # describe's end offsets add up to what was produced.
        described = self.run_ok_describe("lines")
        ends = [int(line.split("log-end-offset ")[1]) for line in described.splitlines()
                if "log-end-offset" in line]
        self.assertEqual(sum(ends), 1000)
        # One partition, a start offset, and a message cap.
        some = self.run_ok("consume", "lines", "--partition", "1", "--offset", "2",
                           "--max-messages", "3", "--print-offset")
        self.assertEqual([line.split("\t")[0] for line in some.splitlines()],
                         ["1:2", "1:3", "1:4"])

    def run_ok_describe(self, topic):
        # The partition lines do not depend on DescribeConfigs, which may still be missing.
        return samsa(self.bootstrap, "topic", "describe", topic).stdout

    def test_acks_and_forced_partition(self):
        self.run_ok("topic", "create", "acks", "--partitions", "3")
        for acks in ["0", "1", "all"]:
            self.run_ok("produce", "acks", "--acks", acks, "--partition", "2",
                        stdin="a-%s\nb-%s\n" % (acks, acks))
        values = self.run_ok("consume", "acks", "--partition", "2", "--from-beginning",
                             "--timeout-ms", "500").split()
        self.assertEqual(values, ["a-0", "b-0", "a-1", "b-1", "a-all", "b-all"])
        bad = samsa(self.bootstrap, "produce", "acks", "--acks", "2", stdin="x\n")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("--acks", bad.stderr)
        beyond = samsa(self.bootstrap, "produce", "acks", "--partition", "7", stdin="x\n")
        self.assertNotEqual(beyond.returncode, 0)
        self.assertIn("no partition 7", beyond.stderr)

    def test_consumer_waits_for_data_produced_after_it_started(self):
        self.run_ok("topic", "create", "late", "--partitions", "2")
        consumer = subprocess.Popen([SAMSA, "consume", "late", "--timeout-ms", "20000",
                                     "--max-messages", "2", "--bootstrap", self.bootstrap],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(1.0)
            self.run_ok("produce", "late", "--key-separator", "", stdin="first\nsecond\n")
            stdout, stderr = consumer.communicate(timeout=30)
        finally:
            if consumer.poll() is None:
                consumer.kill()
                consumer.wait()
        self.assertEqual(consumer.returncode, 0, stderr)
        self.assertEqual(sorted(stdout.split()), ["first", "second"])

    def test_consume_stops_after_the_timeout_when_caught_up(self):
        self.run_ok("topic", "create", "quiet", "--partitions", "1")
        start = time.monotonic()
        self.assertEqual(self.run_ok("consume", "quiet", "--timeout-ms", "300"), "")
        self.assertLess(time.monotonic() - start, 10)

    def test_compressed_batches_are_a_clear_error(self):
        from kafka import KafkaProducer
        self.run_ok("topic", "create", "zipped", "--partitions", "1")
        self.run_ok("produce", "zipped", stdin="plain\n")
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, compression_type="gzip")
        for _ in range(50):
            producer.send("zipped", b"x" * 100)
        producer.flush()
        producer.close()
        out = samsa(self.bootstrap, "consume", "zipped", "--from-beginning")
        self.assertNotEqual(out.returncode, 0)
        self.assertEqual(out.stdout, "plain\n")  # what came before is printed
        self.assertIn("compressed batches not supported by samsa consume", out.stderr)

    def test_consume_from_a_missing_topic_fails_clearly(self):
        out = samsa(self.bootstrap, "consume", "nowhere", "--from-beginning")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("samsa consume: topic 'nowhere' does not exist", out.stderr)
        described = samsa(self.bootstrap, "topic", "describe", "nowhere")
        self.assertNotEqual(described.returncode, 0)
        self.assertIn("does not exist", described.stderr)

    def test_bad_bootstrap_fails_clearly(self):
        refused = samsa("127.0.0.1:1", "topic", "list", timeout=30)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("samsa topic: cannot connect to 127.0.0.1:1", refused.stderr)
        malformed = samsa("no-port-here", "consume", "x", timeout=30)
        self.assertNotEqual(malformed.returncode, 0)
        self.assertIn("--bootstrap must be HOST:PORT", malformed.stderr)


    # Consumer groups: `samsa consume --group` and `samsa group list | describe | delete`.

    def group_consume(self, topic, group, *extra):
        """Values printed by one `samsa consume TOPIC --group GROUP` run that stops when idle."""
        return self.run_ok("consume", topic, "--group", group, "--timeout-ms", "500",
                           *extra).splitlines()

    def start_group_consumer(self, topic, group, *extra):
        return subprocess.Popen([SAMSA, "consume", topic, "--group", group, *extra,
                                 "--bootstrap", self.bootstrap],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_until_stable(self, group, members, deadline=30):
        """`group describe` output once GROUP is Stable with MEMBERS members, each assigned."""
        end = time.monotonic() + deadline
        out = ""
        while time.monotonic() < end:
            described = samsa(self.bootstrap, "group", "describe", group)
            out = described.stdout
            if ("state: Stable" in out and "members: %d" % members in out
                    and sum(line.startswith("  member ") for line in out.splitlines()) == members
                    and "assigned -" not in out):
                return out
            time.sleep(0.2)
        self.fail("group %s never became Stable with %d members: %s" % (group, members, out))

    @staticmethod
    def offset_rows(described):
        """{partition: (committed, end, lag)} from `group describe`'s offset lines."""
        rows = {}
        for line in described.splitlines():
            if not line.startswith("  topic "):
                continue
            words = line.split()
            rows[int(words[3])] = (words[5], words[7], words[9])
        return rows

    def test_group_consume_commits_list_describe_delete(self):
        self.run_ok("topic", "create", "grouped", "--partitions", "3")
        first = ["k%d\tfirst-%d" % (i % 17, i) for i in range(500)]
        self.run_ok("produce", "grouped", stdin="".join(line + "\n" for line in first))
        values = self.group_consume("grouped", "readers", "--from-beginning")
        self.assertEqual(len(values), 500)
        self.assertEqual(sorted(values), sorted(line.split("\t")[1] for line in first))
        # Offsets were committed: the next member of the group starts where it stopped.
        self.assertEqual(self.group_consume("grouped", "readers", "--from-beginning"), [])
        more = ["more-%d" % i for i in range(100)]
        self.run_ok("produce", "grouped", stdin="".join(line + "\n" for line in more))
        self.assertEqual(sorted(self.group_consume("grouped", "readers")), sorted(more))

        listed = [line.split() for line in self.run_ok("group", "list").splitlines()]
        self.assertIn(["readers", "consumer"], listed)
        described = self.run_ok("group", "describe", "readers")
        self.assertIn("group: readers  state: Empty  protocol-type: consumer", described)
        rows = self.offset_rows(described)
        self.assertEqual(sorted(rows), [0, 1, 2])
        self.assertEqual(sum(int(committed) for committed, _, _ in rows.values()), 600)
        for committed, end, lag in rows.values():
            self.assertEqual((committed, lag), (end, "0"))

        self.assertIn("deleted group readers", self.run_ok("group", "delete", "readers"))
        gone = samsa(self.bootstrap, "group", "describe", "readers")
        self.assertEqual(gone.returncode, 1)
        self.assertIn("samsa group: group 'readers' does not exist (state Dead)", gone.stderr)
        self.assertNotIn("readers", self.run_ok("group", "list").split())
        unknown = samsa(self.bootstrap, "group", "delete", "nobody")
        self.assertEqual(unknown.returncode, 1)
        self.assertIn("samsa group: group 'nobody' does not exist (GROUP_ID_NOT_FOUND)",
                      unknown.stderr)
        # Deleting the group deleted its offsets: a new member starts over.
        self.assertEqual(len(self.group_consume("grouped", "readers", "--from-beginning")), 600)

    def test_group_with_a_member_cannot_be_deleted_and_sigterm_leaves(self):
        self.run_ok("topic", "create", "busy", "--partitions", "2")
        consumer = self.start_group_consumer("busy", "busy-group", "--timeout-ms", "60000")
        try:
            described = self.wait_until_stable("busy-group", 1)
            self.assertIn("protocol: range", described)
            self.assertIn("assigned busy[0,1]", described)
            refused = samsa(self.bootstrap, "group", "delete", "busy-group")
            self.assertEqual(refused.returncode, 1)
            self.assertIn("NON_EMPTY_GROUP", refused.stderr)
            self.run_ok("produce", "busy", "--partition", "1", stdin="one\ntwo\n")
            time.sleep(1.0)
            consumer.send_signal(signal.SIGTERM)
            stdout, stderr = consumer.communicate(timeout=30)
        finally:
            if consumer.poll() is None:
                consumer.kill()
                consumer.wait()
        self.assertEqual(consumer.returncode, 0, stderr)
        self.assertEqual(stdout.split(), ["one", "two"])
        # It committed and left: the group is Empty at once, with partition 1 at 2.
        described = self.run_ok("group", "describe", "busy-group")
        self.assertIn("state: Empty", described)
        self.assertEqual(self.offset_rows(described)[1], ("2", "2", "0"))
        self.assertIn("deleted group busy-group", self.run_ok("group", "delete", "busy-group"))

    def test_two_group_consumers_split_the_partitions(self):
        self.run_ok("topic", "create", "shared", "--partitions", "4")
        consumers = [self.start_group_consumer("shared", "pair", "--print-offset",
                                               "--timeout-ms", "6000") for _ in range(2)]
        try:
            described = self.wait_until_stable("pair", 2)
            self.assertEqual(described.count("assigned shared["), 2)
            lines = ["key-%d\tvalue-%d" % (i, i) for i in range(400)]
            self.run_ok("produce", "shared", stdin="".join(line + "\n" for line in lines))
            outputs = [c.communicate(timeout=60) for c in consumers]
        finally:
            for consumer in consumers:
                if consumer.poll() is None:
                    consumer.kill()
                    consumer.wait()
        partitions_of = []
        values = []
        for consumer, (stdout, stderr) in zip(consumers, outputs):
            self.assertEqual(consumer.returncode, 0, stderr)
            seen = set()
            for line in stdout.splitlines():
                position, value = line.split("\t", 1)
                seen.add(int(position.split(":")[0]))
                values.append(value)
            partitions_of.append(seen)
        self.assertEqual(sorted(values), sorted(line.split("\t")[1] for line in lines))
        self.assertEqual(partitions_of[0] & partitions_of[1], set(),
                         "a partition was printed by both members")
        self.assertEqual(partitions_of[0] | partitions_of[1], {0, 1, 2, 3})
        rows = self.offset_rows(self.run_ok("group", "describe", "pair"))
        self.assertEqual(sum(int(committed) for committed, _, _ in rows.values()), 400)


class MockBrokerTest(ClientTestBase):
    """librdkafka's mock cluster: an independent implementation of the protocol."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(MOCKBROKER_C):
            raise RuntimeError("%s is missing: the shared folder belongs next to the repository,"
                               " or set SAMSA_SHARED to it" % MOCKBROKER_C)
        cls.dir = tempfile.mkdtemp(prefix="samsa-cli-mock-")
        binary = os.path.join(cls.dir, "mockbroker")
        build = subprocess.run(["gcc", "-O1", "-o", binary, MOCKBROKER_C, "-lrdkafka"],
                               capture_output=True, text=True, timeout=120)
        if build.returncode != 0:
            raise RuntimeError("cannot build %s (needs librdkafka-dev): %s"
                               % (MOCKBROKER_C, build.stderr))
        cls.proc = subprocess.Popen([binary, "1", "mytopic:3:1"], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
        cls.bootstrap = cls.proc.stdout.readline().strip().split(",")[0]
        if ":" not in cls.bootstrap:
            raise RuntimeError("mockbroker printed no bootstrap address: %r" % cls.bootstrap)

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        try:
            cls.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
            cls.proc.wait()
        cls.proc.stdout.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_produce_and_consume_round_trip(self):
        lines = ["k%d\tv%d" % (i % 11, i) if i % 2 == 0 else "u%d" % i for i in range(300)]
        self.run_ok("produce", "mytopic", stdin="".join(line + "\n" for line in lines))
        records = self.consume_all("mytopic")
        self.assertEqual(sorted(v for *_, v in records),
                         sorted(line.split("\t")[-1] for line in lines))
        for partition, _, key, value in records:
            if value.startswith("v"):
                self.assertEqual(partition, java_partition(key, 3))

    def test_list_and_describe(self):
        self.assertIn("mytopic", self.run_ok("topic", "list").split())
        out = self.run_ok("topic", "describe", "mytopic")
        self.assertIn("topic: mytopic  partitions: 3", out)
        self.assertIn("configs: unavailable (the broker does not support DescribeConfigs)", out)

    def test_create_without_createtopics_fails_clearly(self):
        out = samsa(self.bootstrap, "topic", "create", "another")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("does not support CreateTopics", out.stderr)


if __name__ == "__main__":
    SAMSA = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
