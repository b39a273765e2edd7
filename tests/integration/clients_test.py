#!/usr/bin/python3
"""The real `samsa broker` process on 127.0.0.1, driven by real Kafka clients.

confluent-kafka 1.7.0 (librdkafka 2.0.2): an idempotent, zstd-compressing producer with acks=all
sends 10,000 keyed records to a 3-partition topic and an assigned consumer (no group
membership) reads every one back, identical and in order per partition - once straight away, once
after a broker restart; its admin client creates topics (twice: TOPIC_ALREADY_EXISTS), describes
a topic's and the broker's configs and deletes a topic (gone, also after a restart). kcat as an
idempotent producer and a consumer. kafkajs 2.2.4 (installed with npm into a cache folder on
first use) creates a topic and produces with a plain producer (some sends gzip) and an idempotent
one; its messages are read back with confluent-kafka and compared.

Each test starts its own broker on an ephemeral port and stops it with SIGTERM.

Usage: clients_test.py SAMSA_BINARY [NODE_CACHE_DIR]
  NODE_CACHE_DIR (or the environment variable SAMSA_NODE_CACHE) is where kafkajs is installed;
  meson passes a folder in the build directory.
"""
import json
import os
import subprocess
import sys
import time
import unittest

import samsa_testing

from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

ResourceType = ConfigResource.Type  # confluent-kafka 1.7.0 has no top-level ResourceType

SAMSA = None
NODE_CACHE = None
HERE = os.path.dirname(os.path.abspath(__file__))
NODE_ID = 7
TIMEOUT = 10


def record_value(seq):
    """A value that carries its sequence number, of varying length and compressible."""
    return (b"seq=%06d|" % seq) + (b"samsa record %d " % (seq * 7919 % 10007)) * (1 + seq % 13)


def seq_of(value):
    return int(value[4:10])


class ClientsTest(unittest.TestCase):
    def setUp(self):
        self.broker = samsa_testing.Broker(SAMSA, node_id=NODE_ID)

    def tearDown(self):
        code = self.broker.stop()
        self.assertEqual(code, 0, "broker exit status after SIGTERM" + self.broker.log_tail())

    def restart_broker(self):
        """SIGTERM, then a new broker process on the same data directory."""
        self.broker.keep_dir = True
        self.assertEqual(self.broker.stop(), 0, "broker exit status after SIGTERM")
        self.broker = samsa_testing.Broker(SAMSA, node_id=NODE_ID, data_dir=self.broker.dir)
        self.broker.keep_dir = False  # this one cleans up

    def context(self):
        return self.broker.log_tail()

    # --- confluent-kafka helpers -------------------------------------------------------------

    def admin(self):
        return AdminClient({"bootstrap.servers": self.broker.address,
                            "socket.timeout.ms": 10000})

    def create_topic(self, name, partitions):
        admin = self.admin()  # kept alive until the answer: a destroyed client fails its futures
        futures = admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)],
            operation_timeout=10, request_timeout=15)
        try:
            futures[name].result(timeout=30)
        except KafkaException as e:
            self.fail("create_topics(%s): %s%s" % (name, e, self.context()))

    def produce_idempotent(self, topic, count):
        """Sends `count` keyed records with an idempotent zstd producer; returns
        {seq: (partition, offset)} from the delivery reports, after checking they all succeeded."""
        client_errors = []
        producer = Producer({
            "bootstrap.servers": self.broker.address,
            "enable.idempotence": True,
            "compression.type": "zstd",
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": 30000,
            "error_cb": client_errors.append,
        })
        delivered = {}
        failed = []

        def report(seq):
            def on_delivery(err, msg):
                if err is not None:
                    failed.append((seq, err))
                else:
                    delivered[seq] = (msg.partition(), msg.offset())
            return on_delivery

        for seq in range(count):
            producer.produce(topic, key=b"key-%d" % (seq % 97), value=record_value(seq),
                             on_delivery=report(seq))
            producer.poll(0)
        remaining = producer.flush(60)
        self.assertEqual(remaining, 0, "records still undelivered after 60 s; client errors: %s%s"
                         % (client_errors[:5], self.context()))
        self.assertEqual(failed[:5], [], "%d of %d deliveries failed; client errors: %s%s"
                         % (len(failed), count, client_errors[:5], self.context()))
        self.assertEqual(len(delivered), count)
        fatal = [e for e in client_errors if e.fatal()]
        self.assertEqual(fatal, [], "fatal producer errors")

        # Acknowledged offsets: each partition's run starts at 0 with no gap or repeat, and the
        # idempotent producer keeps each partition's records in the order they were produced.
        by_partition = {}
        for seq in range(count):
            partition, offset = delivered[seq]
            by_partition.setdefault(partition, []).append(offset)
        for partition, offsets in by_partition.items():
            self.assertEqual(offsets, list(range(len(offsets))),
                             "partition %d: offsets in produce order" % partition)
        return delivered

    def consume_all(self, topic, partitions, expected, limit=60):
        """Reads `topic` from the beginning with assign() (no group membership) until every
        partition reached its end; returns {partition: [(offset, key, value, headers)]}."""
        client_errors = []
        consumer = Consumer({
            "bootstrap.servers": self.broker.address,
            "group.id": "samsa-clients-test-assign-only",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "error_cb": client_errors.append,
        })
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        records = {p: [] for p in range(partitions)}
        at_end = set()
        message_errors = []
        deadline = time.monotonic() + limit
        try:
            while time.monotonic() < deadline:
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if msg.error() is not None:
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        at_end.add(msg.partition())
                        if len(at_end) == partitions:
                            break
                    else:
                        message_errors.append(msg.error())
                        if msg.error().fatal():
                            break
                    continue
                at_end.discard(msg.partition())
                records[msg.partition()].append(
                    (msg.offset(), msg.key(), msg.value(), msg.headers()))
        finally:
            consumer.close()
        total = sum(len(r) for r in records.values())
        self.assertEqual(message_errors, [], "consumer errors" + self.context())
        self.assertEqual(len(at_end), partitions,
                         "not every partition reached its end within %d s (read %d of %d); "
                         "client errors: %s%s" % (limit, total, expected, client_errors[:5],
                                                  self.context()))
        self.assertEqual(total, expected, "records read back")
        return records

    def check_round_trip(self, delivered, records):
        """Every acknowledged record read back once, at its acknowledged offset, with its key and
        value, each partition in offset order and in produce order."""
        seen = set()
        for partition, got in records.items():
            offsets = [offset for offset, _, _, _ in got]
            self.assertEqual(offsets, list(range(len(got))), "partition %d offsets" % partition)
            seqs = [seq_of(value) for _, _, value, _ in got]
            self.assertEqual(seqs, sorted(seqs), "partition %d: produce order" % partition)
            for offset, key, value, _ in got:
                seq = seq_of(value)
                self.assertNotIn(seq, seen, "record %d read twice" % seq)
                seen.add(seq)
                self.assertEqual(delivered.get(seq), (partition, offset), "record %d" % seq)
                self.assertEqual(key, b"key-%d" % (seq % 97), "record %d key" % seq)
                self.assertEqual(value, record_value(seq), "record %d value" % seq)
        self.assertEqual(seen, set(delivered))

    # --- 1, 2: confluent-kafka idempotent producer and assigned consumer ----------------------

    def test_confluent_idempotent_zstd_producer_and_assigned_consumer(self):
        self.create_topic("idempotent", 3)
        delivered = self.produce_idempotent("idempotent", 10000)
        self.assertEqual({p for p, _ in delivered.values()}, {0, 1, 2}, "partitions used")
        records = self.consume_all("idempotent", 3, 10000)
        self.check_round_trip(delivered, records)

    def test_confluent_acknowledged_records_survive_a_broker_restart(self):
        self.create_topic("durable", 3)
        delivered = self.produce_idempotent("durable", 10000)
        self.restart_broker()
        records = self.consume_all("durable", 3, 10000)
        self.check_round_trip(delivered, records)

    # --- 3: confluent-kafka admin client -----------------------------------------------------

    def test_admin_create_twice_gives_topic_already_exists(self):
        admin = self.admin()
        futures = admin.create_topics([NewTopic("admin", num_partitions=3, replication_factor=1)],
                                      operation_timeout=10, request_timeout=15)
        futures["admin"].result(timeout=30)
        again = admin.create_topics([NewTopic("admin", num_partitions=1, replication_factor=1)],
                                    operation_timeout=10, request_timeout=15)
        with self.assertRaises(KafkaException) as raised:
            again["admin"].result(timeout=30)
        self.assertEqual(raised.exception.args[0].code(), KafkaError.TOPIC_ALREADY_EXISTS,
                         str(raised.exception))
        topics = admin.list_topics(timeout=10).topics
        self.assertIn("admin", topics)
        self.assertEqual(len(topics["admin"].partitions), 3, "the second create changed nothing")
        for partition in topics["admin"].partitions.values():
            self.assertEqual(partition.leader, NODE_ID)

    def describe(self, resource):
        admin = self.admin()
        futures = admin.describe_configs([resource], request_timeout=15)
        self.assertEqual(len(futures), 1)
        try:
            return list(futures.values())[0].result(timeout=30)
        except KafkaException as e:
            self.fail("describe_configs(%s): %s%s" % (resource, e, self.context()))

    def test_admin_describe_topic_configs(self):
        self.create_topic("described", 2)
        configs = self.describe(ConfigResource(ResourceType.TOPIC, "described"))
        values = {name: entry.value for name, entry in configs.items()}
        for name in ("cleanup.policy", "retention.ms", "retention.bytes", "segment.bytes",
                     "min.insync.replicas", "max.message.bytes"):
            self.assertIn(name, values, "topic configs: %s" % sorted(values))
            self.assertIsNotNone(values[name], name)
        for name, entry in configs.items():
            self.assertEqual(entry.name, name)
        self.assertEqual(values["cleanup.policy"], "delete")  # the default for a new topic
        retention_ms = int(values["retention.ms"])
        self.assertTrue(retention_ms == -1 or retention_ms >= 1000,
                        "retention.ms %d" % retention_ms)
        retention_bytes = int(values["retention.bytes"])
        self.assertTrue(retention_bytes == -1 or retention_bytes >= 1024,
                        "retention.bytes %d" % retention_bytes)
        self.assertGreaterEqual(int(values["segment.bytes"]), 1024 * 1024, "segment.bytes")
        self.assertGreaterEqual(int(values["min.insync.replicas"]), 1, "min.insync.replicas")
        self.assertGreaterEqual(int(values["max.message.bytes"]), 1024, "max.message.bytes")
        # A topic that does not exist is an error, not an empty answer.
        admin = self.admin()
        futures = admin.describe_configs([ConfigResource(ResourceType.TOPIC, "missing")],
                                         request_timeout=15)
        with self.assertRaises(KafkaException) as raised:
            list(futures.values())[0].result(timeout=30)
        self.assertEqual(raised.exception.args[0].code(), KafkaError.UNKNOWN_TOPIC_OR_PART,
                         str(raised.exception))

    def test_admin_describe_broker_configs(self):
        configs = self.describe(ConfigResource(ResourceType.BROKER, str(NODE_ID)))
        self.assertGreater(len(configs), 0, "no broker configs")
        for name, entry in configs.items():
            self.assertTrue(name, "an empty config name")
            self.assertEqual(entry.name, name)
        known = {"broker.id", "log.segment.bytes", "log.retention.ms", "log.retention.hours",
                 "log.retention.bytes", "num.partitions", "message.max.bytes",
                 "min.insync.replicas", "auto.create.topics.enable", "default.replication.factor"}
        self.assertTrue(known & set(configs), "none of the usual broker configs: %s"
                        % sorted(configs))
        if "broker.id" in configs:
            self.assertEqual(configs["broker.id"].value, str(NODE_ID))

    def test_admin_delete_topic(self):
        self.create_topic("doomed", 3)
        self.create_topic("kept", 1)
        admin = self.admin()
        self.assertIn("doomed", admin.list_topics(timeout=10).topics)
        futures = admin.delete_topics(["doomed"], operation_timeout=10, request_timeout=15)
        try:
            futures["doomed"].result(timeout=30)
        except KafkaException as e:
            self.fail("delete_topics: %s%s" % (e, self.context()))
        deadline = time.monotonic() + 10
        while "doomed" in admin.list_topics(timeout=10).topics and time.monotonic() < deadline:
            time.sleep(0.2)
        topics = admin.list_topics(timeout=10).topics
        self.assertNotIn("doomed", topics, "list_topics after delete_topics")
        self.assertIn("kept", topics)
        # Deleting it again: it is unknown.
        again = admin.delete_topics(["doomed"], operation_timeout=10, request_timeout=15)
        with self.assertRaises(KafkaException) as raised:
            again["doomed"].result(timeout=30)
        self.assertEqual(raised.exception.args[0].code(), KafkaError.UNKNOWN_TOPIC_OR_PART,
                         str(raised.exception))
        # A deleted topic stays deleted across a restart, and its name can be used again.
        self.restart_broker()
        admin = self.admin()
        topics = admin.list_topics(timeout=10).topics
        self.assertNotIn("doomed", topics, "the deleted topic came back after a restart")
        self.assertIn("kept", topics)
        self.create_topic("doomed", 1)
        self.assertEqual(len(self.admin().list_topics(timeout=10).topics["doomed"].partitions), 1)
        self.consume_all("doomed", 1, 0, limit=20)  # the new topic is empty

    # --- 4: kcat ------------------------------------------------------------------------------

    def test_kcat_idempotent_producer_and_consumer(self):
        self.create_topic("kcat", 2)
        lines = ["k%d\tline %04d %s" % (i % 10, i, "x" * (i % 50)) for i in range(1000)]
        out = subprocess.run(["kcat", "-b", self.broker.address, "-P", "-t", "kcat", "-K", "\t",
                              "-X", "enable.idempotence=true", "-X", "acks=all"],
                             input="\n".join(lines) + "\n", capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr + self.context())
        self.assertNotIn("ERROR", out.stderr)
        out = subprocess.run(["kcat", "-b", self.broker.address, "-C", "-t", "kcat", "-o",
                              "beginning", "-e", "-q", "-f", "%p\t%o\t%k\t%s\n"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr + self.context())
        got = [line.split("\t") for line in out.stdout.splitlines()]
        self.assertEqual(len(got), 1000, "lines read back")
        by_partition = {}
        for partition, offset, key, value in got:
            by_partition.setdefault(partition, []).append((int(offset), key, value))
        for partition, records in by_partition.items():
            self.assertEqual([o for o, _, _ in records], list(range(len(records))),
                             "partition %s offsets" % partition)
            numbers = [int(v.split()[1]) for _, _, v in records]
            self.assertEqual(numbers, sorted(numbers), "partition %s order" % partition)
        self.assertEqual(sorted("%s\t%s" % (k, v) for _, _, k, v in got), sorted(lines))

    # --- 5: kafkajs ---------------------------------------------------------------------------

    def ensure_kafkajs(self):
        """kafkajs in the cache folder (installed on first use); its node_modules for NODE_PATH.
        Not reaching the npm registry is a failure, not a skip."""
        try:
            return samsa_testing.install_npm_package(NODE_CACHE, samsa_testing.KAFKAJS)
        except RuntimeError as error:
            self.fail("kafkajs is needed and could not be installed: %s" % error)

    def test_kafkajs_admin_and_producers(self):
        modules = self.ensure_kafkajs()
        env = dict(os.environ, NODE_PATH=modules)
        try:
            out = subprocess.run(["node", os.path.join(HERE, "kafkajs_client.js"),
                                  self.broker.address, "kafkajs"],
                                 capture_output=True, text=True, timeout=120, env=env)
        except subprocess.TimeoutExpired:
            self.fail("kafkajs_client.js did not finish within 120 s" + self.context())
        lines = out.stdout.strip().splitlines()
        try:
            summary = json.loads(lines[-1])
        except (IndexError, ValueError):
            self.fail("kafkajs_client.js printed no summary (exit %d):\n%s\n%s%s"
                      % (out.returncode, out.stdout[-2000:], out.stderr[-3000:], self.context()))
        steps = summary["steps"]
        detail = "\nkafkajs stderr:\n" + out.stderr[-2000:] + self.context()

        def value(name):
            self.assertIn(name, steps)
            self.assertTrue(steps[name]["ok"], "%s: %s" % (name, steps[name].get("error")) + detail)
            return steps[name]["value"]

        for name in ("main", "deadline"):
            with self.subTest(name):
                self.assertNotIn(name, steps, steps.get(name))
        with self.subTest("createTopics"):
            self.assertIs(value("createTopics"), True, "a new topic")
        with self.subTest("createTopicsAgain"):
            self.assertIs(value("createTopicsAgain"), False, "the topic already exists")
        with self.subTest("listTopics"):
            self.assertIn("kafkajs", value("listTopics"))
        with self.subTest("fetchTopicMetadata"):
            (meta,) = value("fetchTopicMetadata")
            self.assertEqual(meta["name"], "kafkajs")
            self.assertEqual(sorted(p["partition"] for p in meta["partitions"]), [0, 1, 2])
            self.assertTrue(all(p["leader"] == NODE_ID and p["error"] == 0
                                for p in meta["partitions"]), meta)
        with self.subTest("produce"):
            value("producerConnect")
            self.assertEqual(value("produce"), 600)
        with self.subTest("idempotentProduce"):
            value("idempotentConnect")
            self.assertEqual(value("idempotentProduce"), 400)
        sent = summary["messages"]
        with self.subTest("fetchTopicOffsets"):
            offsets = value("fetchTopicOffsets")
            self.assertEqual(sorted(o["partition"] for o in offsets), [0, 1, 2])
            for o in offsets:
                self.assertEqual(int(o["low"]), 0, o)
                self.assertEqual(int(o["high"]), int(o["offset"]), o)
            self.assertEqual(sum(int(o["high"]) for o in offsets), len(sent), offsets)
        with self.subTest("describeConfigs"):
            configs = value("describeConfigs")
            for name in ("cleanup.policy", "retention.ms", "retention.bytes", "segment.bytes",
                         "min.insync.replicas", "max.message.bytes"):
                self.assertIn(name, configs)
            self.assertEqual(configs["cleanup.policy"], "delete")

        # Whatever kafkajs was told was stored is read back by librdkafka: same partition and
        # offset, key, value and headers, gzip batches and idempotent batches alike.
        with self.subTest("read back with confluent-kafka"):
            records = self.consume_all("kafkajs", 3, len(sent))
            got = {(p, offset): (key, value, headers)
                   for p, rs in records.items() for offset, key, value, headers in rs}
            for m in sent:
                where = (m["partition"], m["offset"])
                self.assertIn(where, got, "%s message %s" % (m["producer"], m["value"][:30]))
                key, value_, headers = got[where]
                self.assertEqual(key, m["key"].encode())
                self.assertEqual(value_, m["value"].encode())
                self.assertEqual(sorted(headers or []),
                                 sorted((k, v.encode()) for k, v in m["headers"].items()))
            self.assertEqual(len(got), len(sent))
        self.assertEqual(len(sent), 1000, "messages kafkajs produced")
        self.assertEqual(sorted({m["compression"] for m in sent}), ["gzip", "none"])
        self.assertEqual(out.returncode, 0, out.stderr[-2000:])


if __name__ == "__main__":
    SAMSA = os.path.abspath(sys.argv.pop(1))
    NODE_CACHE = samsa_testing.node_cache_from_argv(sys.argv)
    unittest.main(verbosity=2)
