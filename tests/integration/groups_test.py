#!/usr/bin/python3
"""Consumer groups on the real `samsa broker` process, with real clients and raw sockets.

1. Three `kcat -G` consumers share a 6-partition topic: each partition has exactly one owner;
   one consumer killed with SIGKILL loses its partitions to the others within its session
   timeout, and no record is lost (at least once).
2. kafka-python: a consumer commits part way, a new one resumes exactly at the committed
   offsets; the commits survive a broker restart (new consumer, KafkaAdminClient).
3. confluent-kafka with the 'range' and the 'cooperative-sticky' assignors: two consumers split a
   4-partition topic, commit synchronously; new consumers resume at the committed offsets and
   re-read exactly what was left uncommitted; AdminClient.list_groups describes the group.
4. kafkajs 2.2.4 (npm-installed into a cache folder): joins, consumes a topic, commits; the
   offsets are read back through OffsetFetch from kafkajs and from kafka-python.
5. Raw requests: the leader's SyncGroup assignment wins over a follower's, OffsetCommit during
   a rebalance (accepted while PreparingRebalance, as Kafka does; REBALANCE_IN_PROGRESS while
   CompletingRebalance), stale generations, unknown members, bad group ids, session timeouts,
   MEMBER_ID_REQUIRED, oversized member metadata, DeleteGroups of non-empty and unknown
   groups; the broker keeps serving after each.

Usage: groups_test.py SAMSA_BINARY [NODE_CACHE_DIR]
"""
import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import unittest

import samsa_testing
from samsa_testing import frame, kafka_string, read_response

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
import kafka
import kafka.errors

SAMSA = None
NODE_CACHE = None
HERE = os.path.dirname(os.path.abspath(__file__))

# Kafka error codes
NONE = 0
COORDINATOR_LOAD_IN_PROGRESS = 14
ILLEGAL_GENERATION = 22
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
INVALID_REQUEST = 42
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
MEMBER_ID_REQUIRED = 79

# API keys
OFFSET_COMMIT, JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP = 8, 11, 12, 13, 14
LIST_GROUPS, DELETE_GROUPS = 16, 42

KCAT_SESSION_S = 6.0


def parse_assignment(data):
    """{topic: [partitions]} of a ConsumerProtocol assignment (version, topics, user data)."""
    if not data:
        return {}
    reader = Reader(data)
    reader.i16()
    out = {}
    for _ in range(reader.i32()):
        topic = reader.string()
        out[topic] = [reader.i32() for _ in range(reader.i32())]
    return out


class Reader:
    """Big-endian Kafka primitives from a response body."""

    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, fmt):
        (value,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return value

    def i16(self):
        return self.take(">h")

    def i32(self):
        return self.take(">i")

    def string(self):
        n = self.i16()
        if n < 0:
            return None
        text = self.data[self.at:self.at + n].decode()
        self.at += n
        return text

    def bytes(self):
        n = self.i32()
        if n < 0:
            return None
        out = self.data[self.at:self.at + n]
        self.at += n
        return out


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def kbytes(data):
    return i32(len(data)) + data


def nullable(text):
    return i16(-1) if text is None else kafka_string(text)


def array(items):
    return i32(len(items)) + b"".join(items)


class GroupsTest(unittest.TestCase):
    def setUp(self):
        self.broker = samsa_testing.Broker(SAMSA)
        self.cleanups = []

    def tearDown(self):
        for cleanup in reversed(self.cleanups):
            cleanup()
        self._admin = (None, None)  # destroyed before the broker goes
        code = self.broker.stop()
        self.assertEqual(code, 0, "broker exit status after SIGTERM" + self.broker.log_tail())

    def context(self):
        return self.broker.log_tail()

    def restart_broker(self):
        self.broker.keep_dir = True
        self._admin = (None, None)
        self.assertEqual(self.broker.stop(), 0, "broker exit status after SIGTERM")
        self.broker = samsa_testing.Broker(SAMSA, data_dir=self.broker.dir)
        self.broker.keep_dir = False

    # --- shared helpers ------------------------------------------------------------------------

    def samsa_cli(self, args, stdin=None):
        done = subprocess.run([SAMSA, *args, "--bootstrap", self.broker.address], input=stdin,
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, "samsa %s: %s%s" % (" ".join(args), done.stderr,
                                                                 self.context()))
        return done.stdout

    def create_topic(self, name, partitions):
        self.samsa_cli(["topic", "create", name, "--partitions", str(partitions)])

    def produce(self, topic, partition, values):
        """`values` into one partition with `samsa produce` (no keys)."""
        self.samsa_cli(["produce", topic, "--partition", str(partition), "--key-separator", ""],
                       stdin="".join(v + "\n" for v in values))

    def produce_each(self, topic, partitions, prefix, count):
        """`count` records "PREFIX-pP-NNNN" into every partition; returns them by partition."""
        sent = {}
        for p in range(partitions):
            sent[p] = ["%s-p%d-%04d" % (prefix, p, i) for i in range(count)]
            self.produce(topic, p, sent[p])
        return sent

    def admin(self):
        """One confluent-kafka admin client per broker process (kept: a client destroyed right
        after an answer makes librdkafka complain about unserved events)."""
        if getattr(self, "_admin", (None, None))[0] != self.broker.address:
            self._admin = (self.broker.address, AdminClient(
                {"bootstrap.servers": self.broker.address, "socket.timeout.ms": 10000}))
        return self._admin[1]

    def describe_group(self, group):
        """confluent-kafka's list_groups(group): ListGroups + DescribeGroups."""
        groups = self.admin().list_groups(group, timeout=10)
        self.assertEqual(len(groups), 1, groups)
        return groups[0]

    def kafka_python_offsets(self, group):
        """{(topic, partition): offset} from KafkaAdminClient.list_consumer_group_offsets
        (OffsetFetch); a coordinator still loading is retried for a few seconds."""
        admin = kafka.KafkaAdminClient(bootstrap_servers=self.broker.address,
                                       request_timeout_ms=10000)
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    answer = admin.list_consumer_group_offsets(group)
                    break
                except kafka.errors.CoordinatorLoadInProgressError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        finally:
            admin.close()
        return {(tp.topic, tp.partition): om.offset for tp, om in answer.items()}

    # --- 1: kcat consumers, a member killed ------------------------------------------------

    def start_kcat(self, group, topic, name):
        proc = subprocess.Popen(
            ["kcat", "-b", self.broker.address, "-G", group, topic, "-u", "-q",
             "-X", "client.id=" + name, "-X", "session.timeout.ms=%d" % (KCAT_SESSION_S * 1000),
             "-X", "heartbeat.interval.ms=500", "-X", "auto.offset.reset=earliest",
             "-f", "%p %o %s\n"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        member = {"name": name, "proc": proc, "records": [], "stderr": []}

        def read_stdout():
            for line in proc.stdout:
                partition, offset, value = line.rstrip("\n").split(" ", 2)
                member["records"].append((time.monotonic(), int(partition), int(offset), value))

        def read_stderr():
            for line in proc.stderr:
                member["stderr"].append(line.rstrip("\n"))
                del member["stderr"][:-20]

        member["threads"] = [threading.Thread(target=f, daemon=True)
                             for f in (read_stdout, read_stderr)]
        for thread in member["threads"]:
            thread.start()

        def stop():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            for thread in member["threads"]:
                thread.join(timeout=5)
            proc.stdout.close()
            proc.stderr.close()

        self.cleanups.append(stop)
        return member

    def wait_for(self, what, condition, limit, detail=lambda: ""):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.2)
        self.fail("%s: not within %d s %s%s" % (what, limit, detail(), self.context()))

    def group_owners(self, group, topic, members):
        """{partition: client id} when the group is Stable with exactly `members` members whose
        assignments split the topic without overlap; else None."""
        try:
            groups = self.admin().list_groups(group, timeout=10)
        except KafkaException:
            return None
        if len(groups) != 1:
            return None  # not created yet
        described = groups[0]
        if described.state != "Stable" or len(described.members) != members:
            return None
        owners = {}
        for m in described.members:
            partitions = parse_assignment(m.assignment).get(topic, [])
            if not partitions:
                return None
            for p in partitions:
                if p in owners:
                    return None
                owners[p] = m.client_id
        return owners

    def test_kcat_members_share_partitions_and_take_over_a_killed_one(self):
        topic, group, partitions = "kcat6", "kcat-group", 6
        self.create_topic(topic, partitions)
        sent = self.produce_each(topic, partitions, "a", 500)
        members = [self.start_kcat(group, topic, "kcat-%d" % i) for i in range(3)]
        by_name = {m["name"]: m for m in members}

        def printed(member_list=members):
            return {value for m in member_list for _, _, _, value in list(m["records"])}

        def progress():
            return " (printed: %s; kcat stderr: %s)" % (
                {m["name"]: len(m["records"]) for m in members},
                {m["name"]: m["stderr"][-3:] for m in members})

        # Settled: three members, each owning some partitions, every partition owned once.
        owners = self.wait_for(
            "three kcat members settled",
            lambda: (lambda o: o if o and sorted(o) == list(range(partitions)) else None)(
                self.group_owners(group, topic, 3)), 40, progress)
        self.assertEqual(sorted(set(owners.values())), sorted(by_name), owners)
        first = {v for vs in sent.values() for v in vs}
        self.wait_for("the first 3,000 records printed", lambda: first <= printed(), 30, progress)

        # More records after the group settled: each partition's are printed by its owner only.
        marks = {m["name"]: len(m["records"]) for m in members}
        more = self.produce_each(topic, partitions, "b", 100)
        second = {v for vs in more.values() for v in vs}
        self.wait_for("the next 600 records printed", lambda: second <= printed(), 30, progress)
        self.assertEqual(self.group_owners(group, topic, 3), owners, "no rebalance meanwhile")
        printers = {}
        for m in members:
            for _, partition, _, value in m["records"][marks[m["name"]]:]:
                if value in second:
                    printers.setdefault(partition, set()).add(m["name"])
        self.assertEqual(printers, {p: {owners[p]} for p in range(partitions)},
                         "who printed each partition's new records (owners %s)" % owners)
        for m in members:
            count = sum(1 for _, _, _, v in m["records"][marks[m["name"]]:] if v in second)
            self.assertGreater(count, 0, "%s printed none of the new records" % m["name"])

        # SIGKILL one member: no LeaveGroup, so only its session timeout frees its partitions.
        victim = members[0]
        survivors = members[1:]
        lost = sorted(p for p, owner in owners.items() if owner == victim["name"])
        self.assertTrue(lost)
        victim["proc"].kill()
        killed_at = time.monotonic()
        victim["proc"].wait()
        third_by_partition = self.produce_each(topic, partitions, "c", 100)
        third = {v for vs in third_by_partition.values() for v in vs}
        limit = KCAT_SESSION_S + 10
        self.wait_for("the survivors print the records of the killed member's partitions %s"
                      % lost,
                      lambda: all(set(third_by_partition[p]) <= printed(survivors) for p in lost),
                      limit, progress)
        taken_over = time.monotonic() - killed_at
        self.assertLessEqual(taken_over, limit)
        new_owners = self.wait_for("two members settled",
                                   lambda: self.group_owners(group, topic, 2), 10, progress)
        self.assertEqual(sorted(new_owners), list(range(partitions)), new_owners)
        self.assertEqual(set(new_owners.values()), {m["name"] for m in survivors}, new_owners)
        for p in lost:
            first_seen = min(t for m in survivors for t, partition, _, value in m["records"]
                             if partition == p and value in third)
            # Not before the session could have expired either (its last heartbeat was at
            # most heartbeat.interval.ms before the kill).
            self.assertTrue(KCAT_SESSION_S - 1.5 <= first_seen - killed_at <= limit,
                            "partition %d taken over %.1f s after the kill (session timeout "
                            "%.0f s)" % (p, first_seen - killed_at, KCAT_SESSION_S))

        # At least once: every record produced was printed by someone, nothing else was.
        everything = first | second | third
        self.wait_for("every record printed", lambda: everything <= printed(), 20, progress)
        self.assertEqual(printed() - everything, set(), "records nobody produced")
        # Each printed line's partition and offset are those of the record.
        for m in members:
            for _, partition, offset, value in m["records"]:
                self.assertEqual(value.split("-")[1], "p%d" % partition, value)

    # --- 2: kafka-python commit and resume, across a broker restart ------------------------

    def kafka_python_consumer(self, topic, group):
        return kafka.KafkaConsumer(
            topic, bootstrap_servers=self.broker.address, group_id=group,
            enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=40,
            session_timeout_ms=10000, heartbeat_interval_ms=1000)

    def kafka_python_poll(self, consumer, enough, limit=40):
        """[(partition, offset, value)] in poll order until `enough` records arrived."""
        got = []
        deadline = time.monotonic() + limit
        while len(got) < enough and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500, max_records=40).items():
                for r in records:
                    got.append((tp.partition, r.offset, r.value.decode()))
        return got

    def check_resumed(self, got, committed, sent, what):
        """`got` is exactly each partition's records from its committed offset on, once each."""
        by_partition = {}
        for partition, offset, value in got:
            by_partition.setdefault(partition, []).append((offset, value))
        for p, values in sent.items():
            expected = [(o, values[o]) for o in range(committed[p], len(values))]
            self.assertEqual(by_partition.get(p, []), expected,
                             "%s: partition %d from committed offset %d" % (what, p, committed[p]))

    def test_kafka_python_commit_resume_and_restart(self):
        topic, group, partitions = "kp", "kp-group", 3
        self.create_topic(topic, partitions)
        sent = self.produce_each(topic, partitions, "kp", 200)

        first = self.kafka_python_consumer(topic, group)
        try:
            got = self.kafka_python_poll(first, 250)
            self.assertGreaterEqual(len(got), 250, "records read by the first consumer" +
                                    self.context())
            tps = [kafka.TopicPartition(topic, p) for p in range(partitions)]
            self.assertEqual(sorted(first.assignment()), sorted(tps))
            positions = {tp.partition: first.position(tp) for tp in tps}
            first.commit()
            committed = {tp.partition: first.committed(tp) for tp in tps}
        finally:
            first.close(autocommit=False)
        read = {p: sum(1 for q, _, _ in got if q == p) for p in range(partitions)}
        self.assertEqual(positions, read, "positions = records read per partition")
        self.assertEqual(committed, positions, "committed offsets read back")
        self.assertLess(sum(positions.values()), 600, "only part of the topic read")

        second = self.kafka_python_consumer(topic, group)
        try:
            rest = self.kafka_python_poll(second, 600 - sum(positions.values()))
            rest += self.kafka_python_poll(second, 1, limit=1.5)  # nothing more may come
        finally:
            second.close(autocommit=False)
        self.check_resumed(rest, positions, sent, "second consumer")

        self.restart_broker()
        self.assertEqual(self.kafka_python_offsets(group),
                         {(topic, p): o for p, o in positions.items()},
                         "KafkaAdminClient.list_consumer_group_offsets after the restart")
        third = self.kafka_python_consumer(topic, group)
        try:
            again = self.kafka_python_poll(third, 600 - sum(positions.values()))
            again += self.kafka_python_poll(third, 1, limit=1.5)
        finally:
            third.close(autocommit=False)
        self.check_resumed(again, positions, sent, "consumer after the broker restart")

    # --- 3: confluent-kafka range and cooperative-sticky -----------------------------------

    def confluent_consumer(self, group, strategy, name, errors):
        consumer = Consumer({
            "bootstrap.servers": self.broker.address,
            "group.id": group,
            "client.id": name,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": strategy,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            "error_cb": errors.append,
        })
        closed = []

        def close():
            if not closed:
                closed.append(True)
                consumer.close()

        self.cleanups.append(close)
        return consumer, close

    def poll_all(self, consumers, got, until, limit, commit_unless=None):
        """Polls every consumer in turn, appending (index, partition, offset, value) to `got`
        and committing each message synchronously unless commit_unless(message); stops when
        until() holds. Returns the commit failures."""
        failures = []
        deadline = time.monotonic() + limit
        while not until() and time.monotonic() < deadline:
            for index, consumer in enumerate(consumers):
                msg = consumer.poll(0.1)
                if msg is None:
                    continue
                if msg.error() is not None:
                    failures.append(("message", msg.error()))
                    continue
                got.append((index, msg.partition(), msg.offset(), msg.value().decode()))
                if commit_unless is not None and not commit_unless(msg):
                    try:
                        consumer.commit(message=msg, asynchronous=False)
                    except KafkaException as e:
                        failures.append(("commit", msg.partition(), msg.offset(), e))
        return failures

    def check_confluent_group(self, strategy):
        topic, group, partitions = "ck-" + strategy, "ck-group-" + strategy, 4
        self.create_topic(topic, partitions)
        errors = []
        consumers, closers = zip(*[self.confluent_consumer(group, strategy, "ck-%d" % i, errors)
                                   for i in range(2)])
        for c in consumers:
            c.subscribe([topic])

        def split(consumers):
            """Both consumers' partitions when they split the topic between them."""
            assigned = [{tp.partition for tp in c.assignment()} for c in consumers]
            return (all(assigned) and not assigned[0] & assigned[1] and
                    assigned[0] | assigned[1] == set(range(partitions))) and assigned

        # Both members get a share of the (still empty) topic before anything is produced.
        got = []
        self.poll_all(consumers, got, lambda: split(consumers), 40)
        assigned = split(consumers)
        self.assertTrue(assigned, "the two consumers did not split the topic within 40 s "
                        "(assignments %s, client errors %s)%s"
                        % ([c.assignment() for c in consumers], errors[:5], self.context()))
        self.assertEqual(got, [])
        described = self.describe_group(group)
        self.assertEqual((described.state, described.protocol_type, described.protocol),
                         ("Stable", "consumer", strategy))
        self.assertEqual(sorted(m.client_id for m in described.members), ["ck-0", "ck-1"])
        described_split = {m.client_id: set(parse_assignment(m.assignment).get(topic, []))
                           for m in described.members}
        self.assertEqual(described_split, {"ck-0": assigned[0], "ck-1": assigned[1]})
        self.assertIn(group, [g.id for g in self.admin().list_groups(timeout=10)])

        # Everything consumed once, by the partition's owner; all committed except partition
        # 0 from offset 90 on.
        sent = self.produce_each(topic, partitions, "ck", 100)
        everything = {v for vs in sent.values() for v in vs}
        failures = self.poll_all(
            consumers, got, lambda: len({v for _, _, _, v in got}) >= len(everything), 60,
            commit_unless=lambda m: m.partition() == 0 and m.offset() >= 90)
        self.assertEqual(failures, [], "consumer/commit errors" + self.context())
        self.assertEqual(sorted(v for _, _, _, v in got), sorted(everything), "each record once")
        for index, partition, offset, value in got:
            self.assertIn(partition, assigned[index], value)
            self.assertEqual(sent[partition][offset], value)
        committed = consumers[0].committed(
            [TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        self.assertEqual({tp.partition: tp.offset for tp in committed},
                         {0: 90, 1: 100, 2: 100, 3: 100}, "committed offsets")
        for close in closers:
            close()

        # The consumers restart, one after the other. The first resumes from the committed
        # offsets: partition 0's ten uncommitted records come again, nothing else read before.
        later = self.produce_each(topic, partitions, "ck2", 25)
        expected = {sent[0][o] for o in range(90, 100)} | {v for vs in later.values() for v in vs}
        third, close_third = self.confluent_consumer(group, strategy, "ck-2", errors)
        third.subscribe([topic])
        again = []
        failures = self.poll_all([third], again,
                                 lambda: len({v for _, _, _, v in again}) >= len(expected), 40,
                                 commit_unless=lambda m: False)
        self.poll_all([third], again, lambda: False, 1.5)  # anything more would be a repeat
        self.assertEqual(failures, [], "consumer/commit errors after the restart" +
                         self.context())
        self.assertEqual(sorted(v for _, _, _, v in again), sorted(expected),
                         "records delivered to the restarted consumer")

        # The second joins: the topic is split again and new records are read once each.
        fourth, close_fourth = self.confluent_consumer(group, strategy, "ck-3", errors)
        fourth.subscribe([topic])
        consumers = (third, fourth)
        got = []
        self.poll_all(consumers, got, lambda: split(consumers), 40, commit_unless=lambda m: False)
        assigned = split(consumers)
        self.assertTrue(assigned, "the restarted consumers did not split the topic within 40 s "
                        "(assignments %s)%s" % ([c.assignment() for c in consumers],
                                                self.context()))
        self.assertEqual(got, [], "records delivered again while the second consumer joined")
        described = self.describe_group(group)
        self.assertEqual((described.state, described.protocol), ("Stable", strategy))
        self.assertEqual(sorted(m.client_id for m in described.members), ["ck-2", "ck-3"])
        last = self.produce_each(topic, partitions, "ck3", 25)
        failures = self.poll_all(consumers, got, lambda: len(got) >= 100, 40,
                                 commit_unless=lambda m: False)
        self.poll_all(consumers, got, lambda: False, 1.5)
        self.assertEqual(failures, [], "consumer/commit errors" + self.context())
        self.assertEqual(sorted(v for _, _, _, v in got),
                         sorted(v for vs in last.values() for v in vs), "the last records")
        for index, partition, offset, value in got:
            self.assertIn(partition, assigned[index], value)
        close_third()
        close_fourth()
        self.assertEqual([e for e in errors if e.fatal()], [], "fatal client errors")

    def test_confluent_range_assignor(self):
        self.check_confluent_group("range")

    def test_confluent_cooperative_sticky_assignor(self):
        self.check_confluent_group("cooperative-sticky")

    # --- 4: kafkajs -----------------------------------------------------------------------

    def test_kafkajs_consumer_group_commits(self):
        try:
            modules = samsa_testing.install_npm_package(NODE_CACHE, samsa_testing.KAFKAJS)
        except RuntimeError as e:
            self.fail(str(e))
        topic, group, partitions = "js", "js-group", 3
        self.create_topic(topic, partitions)
        sent = self.produce_each(topic, partitions, "js", 100)
        try:
            out = subprocess.run(
                ["node", os.path.join(HERE, "kafkajs_group.js"), self.broker.address, topic,
                 group, "300"], capture_output=True, text=True, timeout=120,
                env=dict(os.environ, NODE_PATH=modules))
        except subprocess.TimeoutExpired:
            self.fail("kafkajs_group.js did not finish within 120 s" + self.context())
        try:
            summary = json.loads(out.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            self.fail("kafkajs_group.js printed no summary (exit %d):\n%s\n%s%s"
                      % (out.returncode, out.stdout[-2000:], out.stderr[-3000:], self.context()))
        detail = "\nkafkajs stderr:\n" + out.stderr[-2000:] + self.context()
        steps = summary["steps"]
        for name in ("connect", "subscribe", "run", "receivedAll", "commitOffsets",
                     "adminConnect", "fetchOffsets", "disconnect"):
            self.assertIn(name, steps, detail)
            self.assertTrue(steps[name]["ok"], "%s: %s%s" % (name, steps[name].get("error"),
                                                             detail))
        for name in ("main", "deadline"):
            self.assertNotIn(name, steps, detail)
        self.assertEqual(summary["assigned"], {topic: [0, 1, 2]}, "kafkajs's assignment")
        got = [(m["partition"], m["offset"], m["value"]) for m in summary["messages"]]
        self.assertEqual(sorted(got), sorted((p, o, v) for p, vs in sent.items()
                                             for o, v in enumerate(vs)), "messages received")
        self.assertEqual(sorted((o["partition"], int(o["offset"]))
                                for o in steps["fetchOffsets"]["value"]),
                         [(0, 100), (1, 100), (2, 100)], "kafkajs admin.fetchOffsets")
        self.assertEqual(self.kafka_python_offsets(group),
                         {(topic, p): 100 for p in range(partitions)},
                         "kafka-python list_consumer_group_offsets")
        described = self.describe_group(group)
        self.assertEqual((described.state, len(described.members)), ("Empty", 0),
                         "the group after kafkajs left")
        self.assertEqual(out.returncode, 0, detail)

    # --- 5: raw requests ------------------------------------------------------------------

    def call(self, sock, api_key, version, body, correlation_id=1):
        sock.sendall(frame(api_key, version, correlation_id, body))
        return self.answer(sock, correlation_id)

    def answer(self, sock, correlation_id):
        got, body = read_response(sock)
        self.assertEqual(got, correlation_id)
        return Reader(body)

    def join_body(self, version, group, member_id="", session_ms=10000, protocols=None,
                  protocol_type="consumer"):
        protocols = protocols if protocols is not None else [("range", b"meta")]
        body = kafka_string(group) + i32(session_ms)
        if version >= 1:
            body += i32(10000)  # rebalance timeout
        body += kafka_string(member_id)
        if version >= 5:
            body += nullable(None)
        return body + kafka_string(protocol_type) + array(
            [kafka_string(name) + kbytes(meta) for name, meta in protocols])

    @staticmethod
    def read_join(reader, version=2):
        if version >= 2:
            reader.i32()  # throttle
        out = {"error": reader.i16(), "generation": reader.i32(), "protocol": reader.string(),
               "leader": reader.string(), "member_id": reader.string(), "members": {}}
        for _ in range(reader.i32()):
            member = reader.string()
            if version >= 5:
                reader.string()
            out["members"][member] = reader.bytes()
        return out

    def join(self, sock, group, version=2, **kwargs):
        """JoinGroup answered at once; a coordinator still loading is retried briefly."""
        deadline = time.monotonic() + 10
        while True:
            answer = self.read_join(
                self.call(sock, JOIN_GROUP, version, self.join_body(version, group, **kwargs)),
                version)
            if answer["error"] != COORDINATOR_LOAD_IN_PROGRESS or time.monotonic() > deadline:
                return answer
            time.sleep(0.1)

    def sync_body(self, group, generation, member_id, assignments):
        return (kafka_string(group) + i32(generation) + kafka_string(member_id) +
                array([kafka_string(m) + kbytes(a) for m, a in assignments.items()]))

    @staticmethod
    def read_sync(reader):
        reader.i32()
        return reader.i16(), reader.bytes()

    def heartbeat(self, sock, group, generation, member_id):
        reader = self.call(sock, HEARTBEAT, 1,
                           kafka_string(group) + i32(generation) + kafka_string(member_id))
        reader.i32()
        return reader.i16()

    def commit(self, sock, group, generation, member_id, topic="raw", offsets=((0, 5), (1, 7))):
        """OffsetCommit v2; the error codes by partition."""
        body = (kafka_string(group) + i32(generation) + kafka_string(member_id) + i64(-1) +
                array([kafka_string(topic) + array(
                    [i32(p) + i64(o) + nullable(None) for p, o in offsets])]))
        reader = self.call(sock, OFFSET_COMMIT, 2, body)
        errors = {}
        for _ in range(reader.i32()):
            self.assertEqual(reader.string(), topic)
            for _ in range(reader.i32()):
                partition = reader.i32()
                errors[partition] = reader.i16()
        return errors

    def delete_groups(self, sock, names):
        reader = self.call(sock, DELETE_GROUPS, 0, array([kafka_string(n) for n in names]))
        reader.i32()
        return {reader.string(): reader.i16() for _ in range(reader.i32())}

    def leave(self, sock, group, member_id):
        reader = self.call(sock, LEAVE_GROUP, 1, kafka_string(group) + kafka_string(member_id))
        reader.i32()
        return reader.i16()

    def assert_serving(self):
        """A new connection gets an answer to ListGroups."""
        with self.broker.connect() as sock:
            reader = self.call(sock, LIST_GROUPS, 0, b"", correlation_id=99)
            self.assertEqual(reader.i16(), NONE, "ListGroups error after a bad request")
        self.assertIsNone(self.broker.proc.poll(), "broker exited" + self.context())

    def test_raw_bad_join_requests(self):
        cases = [
            ("empty group id", dict(group=""), INVALID_GROUP_ID),
            ("300-character group id", dict(group="g" * 300), INVALID_GROUP_ID),
            ("1 ms session timeout", dict(group="raw-session", session_ms=1),
             INVALID_SESSION_TIMEOUT),
        ]
        for name, kwargs, expected in cases:
            with self.subTest(name):
                with self.broker.connect() as sock:
                    self.assertEqual(self.join(sock, **kwargs)["error"], expected)
                self.assert_serving()

    def test_raw_member_id_required_then_joined(self):
        with self.broker.connect() as sock:
            first = self.join(sock, "raw-v4", version=4)
            self.assertEqual(first["error"], MEMBER_ID_REQUIRED)
            member = first["member_id"]
            self.assertTrue(member, "MEMBER_ID_REQUIRED carries the id to come back with")
            second = self.join(sock, "raw-v4", version=4, member_id=member)
            self.assertEqual((second["error"], second["generation"], second["member_id"],
                              second["leader"], second["protocol"]),
                             (NONE, 1, member, member, "range"))
            self.assertEqual(second["members"], {member: b"meta"})
            reader = self.call(sock, SYNC_GROUP, 1,
                               self.sync_body("raw-v4", 1, member, {member: b"mine"}))
            self.assertEqual(self.read_sync(reader), (NONE, b"mine"))
            self.assertEqual(self.heartbeat(sock, "raw-v4", 1, member), NONE)
        self.assert_serving()

    def test_raw_oversized_member_metadata(self):
        metadata = b"x" * (3 << 19)  # 1.5 MiB: over the 1 MiB limit, far under the frame limit
        with self.broker.connect() as sock:
            try:
                answer = self.join(sock, "raw-big", protocols=[("range", metadata)])
                self.assertEqual(answer["error"], INVALID_REQUEST)
            except ConnectionError:
                pass  # the connection closed: also acceptable
        self.assert_serving()
        described = self.admin().list_groups(timeout=10)
        self.assertNotIn("raw-big", [g.id for g in described if g.members],
                         "no member joined with oversized metadata")

    def test_raw_leader_sync_generations_unknown_members_and_delete(self):
        group = "raw-sync"
        with self.broker.connect() as a, self.broker.connect() as b:
            joined = self.join(a, group, protocols=[("range", b"meta-a")])
            self.assertEqual(joined["error"], NONE)
            member_a = joined["member_id"]
            self.assertEqual((joined["generation"], joined["leader"]), (1, member_a))
            reader = self.call(a, SYNC_GROUP, 1, self.sync_body(group, 1, member_a,
                                                                {member_a: b"solo"}))
            self.assertEqual(self.read_sync(reader), (NONE, b"solo"))

            # B joins: its JoinGroup is held until A rejoins, told by its heartbeat.
            b.sendall(frame(JOIN_GROUP, 2, 2, self.join_body(
                2, group, protocols=[("range", b"meta-b")])))
            self.assertEqual(self.heartbeat(a, group, 1, member_a), REBALANCE_IN_PROGRESS)
            with self.subTest("OffsetCommit while PreparingRebalance"):
                # Kafka accepts a commit of the current generation here: consumers commit
                # what they consumed before rejoining (onJoinPrepare, revocation callbacks).
                self.assertEqual(self.commit(a, group, 1, member_a), {0: NONE, 1: NONE})
            rejoined = self.join(a, group, member_id=member_a, protocols=[("range", b"meta-a")])
            joined_b = self.read_join(self.answer(b, 2))
            member_b = joined_b["member_id"]
            self.assertEqual((rejoined["error"], rejoined["generation"], rejoined["leader"]),
                             (NONE, 2, member_a))
            self.assertEqual(rejoined["members"], {member_a: b"meta-a", member_b: b"meta-b"})
            self.assertEqual((joined_b["error"], joined_b["generation"], joined_b["leader"],
                              joined_b["members"]), (NONE, 2, member_a, {}))
            with self.subTest("OffsetCommit while CompletingRebalance"):
                self.assertEqual(self.commit(a, group, 2, member_a),
                                 {0: REBALANCE_IN_PROGRESS, 1: REBALANCE_IN_PROGRESS})

            # The follower's SyncGroup (sent first, with assignments of its own) waits for the
            # leader's, and both get the leader's assignment.
            b.sendall(frame(SYNC_GROUP, 1, 3, self.sync_body(
                group, 2, member_b, {member_a: b"follower-for-a", member_b: b"follower-for-b"})))
            time.sleep(0.3)
            reader = self.call(a, SYNC_GROUP, 1, self.sync_body(
                group, 2, member_a, {member_a: b"leader-for-a", member_b: b"leader-for-b"}))
            self.assertEqual(self.read_sync(reader), (NONE, b"leader-for-a"))
            self.assertEqual(self.read_sync(self.answer(b, 3)), (NONE, b"leader-for-b"))

            with self.subTest("stale generation"):
                self.assertEqual(self.heartbeat(a, group, 1, member_a), ILLEGAL_GENERATION)
                self.assertEqual(self.commit(a, group, 1, member_a),
                                 {0: ILLEGAL_GENERATION, 1: ILLEGAL_GENERATION})
                self.assertEqual(self.heartbeat(a, group, 2, member_a), NONE)
                self.assertEqual(self.commit(a, group, 2, member_a), {0: NONE, 1: NONE})
                self.assert_serving()
            with self.subTest("unknown member id"):
                self.assertEqual(self.heartbeat(a, group, 2, "nobody"), UNKNOWN_MEMBER_ID)
                self.assertEqual(self.commit(a, group, 2, "nobody"),
                                 {0: UNKNOWN_MEMBER_ID, 1: UNKNOWN_MEMBER_ID})
                reader = self.call(a, SYNC_GROUP, 1, self.sync_body(group, 2, "nobody", {}))
                self.assertEqual(self.read_sync(reader)[0], UNKNOWN_MEMBER_ID)
                self.assert_serving()
            with self.subTest("DeleteGroups"):
                with self.broker.connect() as c:
                    self.assertEqual(self.delete_groups(c, [group, "raw-no-such-group"]),
                                     {group: NON_EMPTY_GROUP,
                                      "raw-no-such-group": GROUP_ID_NOT_FOUND})
                self.assert_serving()
                self.assertEqual(self.heartbeat(b, group, 2, member_b), NONE, "still a member")
                self.assertEqual(self.leave(a, group, member_a), NONE)
                self.assertEqual(self.leave(b, group, member_b), NONE)
                with self.broker.connect() as c:
                    self.assertEqual(self.delete_groups(c, [group]), {group: NONE})
                    self.assertEqual(self.delete_groups(c, [group]), {group: GROUP_ID_NOT_FOUND})
                self.assert_serving()


if __name__ == "__main__":
    SAMSA = os.path.abspath(sys.argv.pop(1))
    NODE_CACHE = samsa_testing.node_cache_from_argv(sys.argv)
    unittest.main(verbosity=2)
