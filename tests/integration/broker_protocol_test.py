#!/usr/bin/python3
"""The real `samsa broker` process on 127.0.0.1, driven by kcat and by raw sockets.

Checks what the broker serves: kcat's metadata request, topics
created with kafka-python's admin client (and found again after a restart), 10,000 keyed messages
produced by kcat with acks=all and read back in order per partition after a broker restart,
kafka-python's producer and an assigned consumer, pipelined requests answered in order, and bad input - garbage, negative and huge frame sizes, truncated
frames, an unknown API key, unsupported versions - each closing (or, for ApiVersions, answering)
that one connection while another client keeps being served and the process keeps running.

Usage: broker_protocol_test.py SAMSA_BINARY
"""
import os
import struct
import subprocess
import sys
import time
import unittest

from samsa_testing import frame, kafka_string, read_response
import samsa_testing

SAMSA = None
TIMEOUT = 10


def closed_by_peer(sock):
    """True when the broker closes the connection (EOF or reset) within the timeout."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def crc32c(data):
    """CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


class BrokerProtocolTest(unittest.TestCase):
    def setUp(self):
        self.broker = samsa_testing.Broker(SAMSA)
        self.healthy = self.broker.connect()  # a second client that must keep being served

    def tearDown(self):
        self.healthy.close()
        code = self.broker.stop()
        self.assertEqual(code, 0, "broker exit status after SIGTERM")

    def assert_still_serving(self, correlation_id=999):
        self.healthy.sendall(frame(18, 0, correlation_id))
        got, body = read_response(self.healthy)
        self.assertEqual(got, correlation_id)
        self.assertEqual(struct.unpack(">h", body[:2])[0], 0)
        self.assertIsNone(self.broker.proc.poll(), "the broker process died")

    def test_kcat_metadata(self):
        out = subprocess.run(["kcat", "-b", self.broker.address, "-L", "-m", "5"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("1 brokers:", out.stdout)
        self.assertIn("broker 7 at %s (controller)" % self.broker.address, out.stdout)

    def test_kafka_python_admin_creates_and_lists_topics(self):
        from kafka.admin import KafkaAdminClient, NewTopic
        from kafka.errors import TopicAlreadyExistsError
        admin = KafkaAdminClient(bootstrap_servers=self.broker.address, request_timeout_ms=10000)
        try:
            admin.create_topics([NewTopic("orders", num_partitions=3, replication_factor=1),
                                 NewTopic("events", num_partitions=1, replication_factor=1)])
            self.assertEqual(set(admin.list_topics()), {"orders", "events", "__consumer_offsets"})
            with self.assertRaises(TopicAlreadyExistsError):
                admin.create_topics([NewTopic("orders", num_partitions=1, replication_factor=1)])
        finally:
            admin.close()
        out = subprocess.run(["kcat", "-b", self.broker.address, "-L", "-t", "orders", "-m", "5"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn('topic "orders" with 3 partitions', out.stdout)
        # A restarted broker finds its topics on disk.
        self.healthy.close()
        self.broker.keep_dir = True
        self.assertEqual(self.broker.stop(), 0)
        self.broker = samsa_testing.Broker(SAMSA, data_dir=self.broker.dir)
        self.broker.keep_dir = False  # this one cleans up
        self.healthy = self.broker.connect()
        out = subprocess.run(["kcat", "-b", self.broker.address, "-L", "-m", "5"],
                             capture_output=True, text=True, timeout=30)
        self.assertIn('topic "orders" with 3 partitions', out.stdout)
        self.assertIn('topic "events" with 1 partitions', out.stdout)

    def test_kafka_python_admin_deletes_topics(self):
        from kafka.admin import KafkaAdminClient, NewTopic
        from kafka.errors import UnknownTopicOrPartitionError
        admin = KafkaAdminClient(bootstrap_servers=self.broker.address, request_timeout_ms=10000)
        try:
            admin.create_topics([NewTopic("doomed", num_partitions=2, replication_factor=1),
                                 NewTopic("kept", num_partitions=1, replication_factor=1)])
            admin.delete_topics(["doomed"])
            self.assertEqual(set(admin.list_topics()), {"kept", "__consumer_offsets"})
            with self.assertRaises(UnknownTopicOrPartitionError):
                admin.delete_topics(["doomed"])
        finally:
            admin.close()
        self.assertFalse([f for f in os.listdir(self.broker.dir) if f.startswith("doomed")],
                         "the deleted topic's files are gone")

    def produce_v3(self, topic, records):
        """Produce v3 (acks=all) of `records` to partition 0; the partition's error code."""
        body = (struct.pack(">hhi", -1, -1, 5000) + struct.pack(">i", 1) + kafka_string(topic) +
                struct.pack(">i", 1) + struct.pack(">ii", 0, len(records)) + records)
        sock = self.broker.connect()
        sock.sendall(frame(0, 3, 11, body))
        got, answer = read_response(sock)
        sock.close()
        self.assertEqual(got, 11)
        name_length = struct.unpack(">h", answer[4:6])[0]
        at = 6 + name_length + 4  # topic count, name, partition count
        index, error = struct.unpack(">ih", answer[at:at + 6])
        self.assertEqual(index, 0)
        return error

    def test_a_produce_with_a_corrupt_batch_is_refused_and_nothing_is_stored(self):
        self.create_topic("guarded", 1)
        # One record (zig-zag varints): attributes, timestamp delta 0, offset delta 0, null key
        # (-1), value length 1, "v", no headers; preceded by its length.
        record = bytes([0, 0, 0, 1, 2, ord("v"), 0])
        record = bytes([len(record) * 2]) + record
        batch_tail = (struct.pack(">hiqqqhii", 0, 0, 1000, 1000, -1, -1, -1, 1) + record)

        def batch_with(crc):
            after_length = struct.pack(">ibI", 0, 2, crc) + batch_tail
            return struct.pack(">qi", 0, len(after_length)) + after_length

        good = crc32c(batch_tail)
        self.assertEqual(self.produce_v3("guarded", batch_with(good ^ 1)), 2)  # CORRUPT_MESSAGE
        self.assertEqual(self.kcat_consume("guarded"), [])
        self.assert_still_serving()
        # The same batch with its right CRC is taken: only the CRC was wrong.
        self.assertEqual(self.produce_v3("guarded", batch_with(good)), 0)
        self.assertEqual([r[3] for r in self.kcat_consume("guarded")], ["v"])

    def test_requests_for_a_missing_topic_get_unknown_topic_or_partition(self):
        # ListOffsets v1 (latest) and a Produce: neither creates the topic.
        body = struct.pack(">ii", -1, 1) + kafka_string("nope") + struct.pack(">iiq", 1, 0, -1)
        sock = self.broker.connect()
        sock.sendall(frame(2, 1, 12, body))
        got, answer = read_response(sock)
        sock.close()
        self.assertEqual(got, 12)
        at = 4 + 2 + len("nope") + 4
        self.assertEqual(struct.unpack(">ih", answer[at:at + 6]), (0, 3))
        self.assertEqual(self.produce_v3("nope-either", b""), 3)
        self.assert_still_serving()

    def create_topic(self, name, partitions):
        from kafka.admin import KafkaAdminClient, NewTopic
        admin = KafkaAdminClient(bootstrap_servers=self.broker.address, request_timeout_ms=10000)
        try:
            admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        finally:
            admin.close()

    def kcat_consume(self, topic):
        out = subprocess.run(["kcat", "-b", self.broker.address, "-C", "-t", topic, "-o",
                              "beginning", "-e", "-q", "-f", "%p\t%o\t%k\t%s\n"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return [line.split("\t") for line in out.stdout.splitlines()]

    def test_kcat_produces_keyed_messages_and_reads_them_back_after_a_restart(self):
        self.create_topic("keyed", 4)
        lines = "".join("key-%d\tvalue-%d\n" % (i % 97, i) for i in range(10000))
        out = subprocess.run(["kcat", "-b", self.broker.address, "-P", "-t", "keyed", "-K", "\t",
                              "-X", "acks=all"], input=lines, capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        # Acknowledged means durable: restart the broker before reading.
        self.healthy.close()
        self.broker.keep_dir = True
        self.assertEqual(self.broker.stop(), 0)
        self.broker = samsa_testing.Broker(SAMSA, data_dir=self.broker.dir)
        self.broker.keep_dir = False
        self.healthy = self.broker.connect()
        records = self.kcat_consume("keyed")
        self.assertEqual(len(records), 10000)
        by_partition = {}
        for partition, offset, key, value in records:
            by_partition.setdefault(partition, []).append((int(offset), key, int(value[6:])))
        for partition, got in by_partition.items():
            offsets = [o for o, _, _ in got]
            self.assertEqual(offsets, list(range(len(got))), "partition %s offsets" % partition)
            values = [v for _, _, v in got]
            self.assertEqual(values, sorted(values), "partition %s order" % partition)
            keys = {k for _, k, _ in got}
            for other, rest in by_partition.items():  # a key lives in one partition
                if other != partition:
                    self.assertFalse(keys & {k for _, k, _ in rest})
        self.assertEqual(sorted(v for got in by_partition.values() for _, _, v in got),
                         list(range(10000)))

    def test_kafka_python_producer_and_assigned_consumer(self):
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition
        self.create_topic("py", 2)
        producer = KafkaProducer(bootstrap_servers=self.broker.address, acks="all", retries=5)
        futures = [producer.send("py", key=b"k%d" % (i % 10), value=b"v%d" % i)
                   for i in range(2000)]
        metadata = [f.get(timeout=30) for f in futures]
        producer.close()
        self.assertEqual(len({(m.partition, m.offset) for m in metadata}), 2000)
        consumer = KafkaConsumer(bootstrap_servers=self.broker.address, enable_auto_commit=False,
                                 consumer_timeout_ms=5000)
        partitions = [TopicPartition("py", 0), TopicPartition("py", 1)]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        seen = [m for m in consumer]
        consumer.close()
        self.assertEqual(sorted(int(m.value[1:]) for m in seen), list(range(2000)))

    def test_pipelined_requests_are_answered_in_order(self):
        sock = self.broker.connect()
        sock.sendall(b"".join(frame(18, v % 3, 100 + v) for v in range(20)))
        for v in range(20):
            got, body = read_response(sock)
            self.assertEqual(got, 100 + v)
            self.assertEqual(struct.unpack(">h", body[:2])[0], 0)
        sock.close()

    def test_apiversions_v3_gets_error_35_with_the_table(self):
        sock = self.broker.connect()
        # librdkafka's first request: ApiVersions v3, flexible header (client id + tagged fields).
        payload = struct.pack(">hhih", 18, 3, 5, 3) + b"rdk" + b"\x00" + b"\x00\x00"
        sock.sendall(struct.pack(">i", len(payload)) + payload)
        got, body = read_response(sock)
        self.assertEqual(got, 5)
        error, count = struct.unpack(">hi", body[:6])
        self.assertEqual(error, 35)
        self.assertGreater(count, 10)
        sock.close()

    def test_bad_input_closes_only_that_connection(self):
        cases = {
            "garbage bytes": b"\xde\xad\xbe\xef" * 64,
            "negative size": struct.pack(">i", -5) + b"abcde",
            "huge size": struct.pack(">i", 2**31 - 1) + b"x" * 100,
            "zero size": struct.pack(">i", 0),
            "unknown api key": frame(99, 0, 1),
            "unsupported version": frame(3, 42, 1),
            "malformed body": frame(3, 1, 1, body=b"\x00\x00\x00\x05\x00"),
        }
        for name, data in cases.items():
            with self.subTest(name):
                sock = self.broker.connect()
                sock.sendall(data)
                self.assertTrue(closed_by_peer(sock), name + ": the connection stayed open")
                sock.close()
                self.assert_still_serving()

    def test_truncated_frame_then_disconnect(self):
        sock = self.broker.connect()
        sock.sendall(frame(18, 0, 1)[:7])
        sock.close()
        time.sleep(0.1)
        self.assert_still_serving()


if __name__ == "__main__":
    SAMSA = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
