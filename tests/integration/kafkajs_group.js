// A kafkajs 2.2.4 consumer group member against a running samsa broker, driven by
// groups_test.py.
//
// Usage: node kafkajs_group.js BROKER_ADDRESS TOPIC GROUP COUNT   (NODE_PATH must find kafkajs)
//
// Joins GROUP subscribed to TOPIC from the beginning (kafkajs: FindCoordinator, JoinGroup v5 with
// the MEMBER_ID_REQUIRED round trip, SyncGroup, Heartbeat), reads until COUNT messages arrived,
// commits the next offset of every partition it read explicitly (autoCommit off), asks its admin
// client for the group's committed offsets, leaves the group and prints one JSON line: each
// step's outcome, the partitions it was assigned and every message it received.
'use strict';

const { Kafka, logLevel } = require('kafkajs');
const { steps, run } = require('./kafkajs_steps.js');

const [address, topic, groupId, countText] = process.argv.slice(2);
const wanted = Number(countText);
if (!address || !topic || !groupId || !(wanted > 0)) {
    console.error('usage: node kafkajs_group.js BROKER_ADDRESS TOPIC GROUP COUNT');
    process.exit(2);
}

const kafka = new Kafka({
    clientId: 'samsa-kafkajs-group',
    brokers: [address],
    logLevel: logLevel.ERROR,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 },
});

const summary = { steps: {}, messages: [], assigned: null };

const step = steps(summary);

async function main() {
    const consumer = kafka.consumer({
        groupId,
        sessionTimeout: 10000,
        rebalanceTimeout: 20000,
        heartbeatInterval: 1000,
        maxWaitTimeInMs: 500,
        allowAutoTopicCreation: false,
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
        summary.assigned = event.payload.memberAssignment;
    });
    let allReceived;
    const received = new Promise((resolve) => { allReceived = resolve; });
    const next = new Map();  // partition -> offset after the last message read
    await step('connect', () => consumer.connect());
    await step('subscribe', () => consumer.subscribe({ topics: [topic], fromBeginning: true }));
    await step('run', () => consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
            summary.messages.push({
                partition, offset: Number(message.offset), value: message.value.toString(),
            });
            next.set(partition, BigInt(message.offset) + 1n);
            if (summary.messages.length >= wanted) allReceived();
        },
    }));
    const timedOut = await Promise.race([
        received.then(() => false),
        new Promise((resolve) => setTimeout(() => resolve(true), 60000)),
    ]);
    summary.steps.receivedAll = timedOut
        ? { ok: false, error: `only ${summary.messages.length} of ${wanted} messages in 60 s` }
        : { ok: true, value: summary.messages.length };
    const offsets = [...next.entries()].map(([partition, offset]) => ({
        topic, partition, offset: offset.toString(),
    }));
    await step('commitOffsets', async () => {
        await consumer.commitOffsets(offsets);
        return offsets;
    });
    const admin = kafka.admin();
    await step('adminConnect', () => admin.connect());
    await step('fetchOffsets', async () => {
        const answer = await admin.fetchOffsets({ groupId, topics: [topic] });
        return answer.flatMap((t) => t.partitions.map((p) => ({
            topic: t.topic, partition: p.partition, offset: p.offset,
        })));
    });
    await step('adminDisconnect', () => admin.disconnect());
    await step('disconnect', () => consumer.disconnect());
}

run('kafkajs_group.js', summary, main);
