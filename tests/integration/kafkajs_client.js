// kafkajs 2.2.4 against a running samsa broker, driven by clients_test.py.
//
// Usage: node kafkajs_client.js BROKER_ADDRESS TOPIC   (NODE_PATH must find kafkajs)
//
// Creates TOPIC with 3 partitions through kafkajs's admin client (then again, which kafkajs
// reports as false: the topic already exists), sends 600 keyed messages with a plain producer
// (acks -1, half of the sends gzip-compressed) and 400 with an idempotent producer, asks the
// admin client for the partitions' offsets and the topic's configs, and prints one JSON line:
// every step's outcome and every message sent with the partition and offset the broker gave it.
// Each step is caught on its own, so one failing step does not hide the others.
// kafkajs consumers need consumer groups, which the broker does not serve yet: the Python test
// reads the messages back with confluent-kafka instead.
'use strict';

const { Kafka, CompressionTypes, ConfigResourceTypes, Partitioners, logLevel } = require('kafkajs');
const { steps, run } = require('./kafkajs_steps.js');

const [address, topic] = process.argv.slice(2);
if (!address || !topic) {
    console.error('usage: node kafkajs_client.js BROKER_ADDRESS TOPIC');
    process.exit(2);
}

// Bounded retries and timeouts: a step the broker does not serve fails within seconds.
const kafka = new Kafka({
    clientId: 'samsa-kafkajs-test',
    brokers: [address],
    logLevel: logLevel.ERROR,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 4, initialRetryTime: 200, maxRetryTime: 2000 },
});

const summary = { steps: {}, messages: [] };

const step = steps(summary);

// Java-compatible (murmur2) keyed partitioning, recording the partition of each message.
const chosenPartition = new WeakMap();
function recordingPartitioner() {
    const inner = Partitioners.DefaultPartitioner();
    return (args) => {
        const partition = inner(args);
        chosenPartition.set(args.message, partition);
        return partition;
    };
}

// Sends `messages` in sends of `perSend`, gzip on every other send when `gzipSome`. Records each
// message's offset: within one send, a partition's messages are appended in the order given,
// from the base offset the broker answered for that partition.
async function sendAll(producer, label, messages, perSend, gzipSome) {
    for (let start = 0, n = 0; start < messages.length; start += perSend, n++) {
        const chunk = messages.slice(start, start + perSend);
        const compression = gzipSome && n % 2 === 1 ? CompressionTypes.GZIP : CompressionTypes.None;
        const results = await producer.send({
            topic, acks: -1, timeout: 10000, compression, messages: chunk,
        });
        const base = new Map();
        for (const r of results) {
            if (r.errorCode !== 0) {
                throw new Error(`partition ${r.partition} error code ${r.errorCode}`);
            }
            base.set(r.partition, BigInt(r.baseOffset));
        }
        const next = new Map();
        for (const m of chunk) {
            const partition = chosenPartition.get(m);
            if (!base.has(partition)) {
                throw new Error(`no produce result for partition ${partition}`);
            }
            const index = next.get(partition) || 0n;
            next.set(partition, index + 1n);
            summary.messages.push({
                producer: label,
                compression: compression === CompressionTypes.GZIP ? 'gzip' : 'none',
                key: m.key,
                value: m.value,
                headers: m.headers,
                partition,
                offset: Number(base.get(partition) + index),
            });
        }
    }
    return messages.length;
}

function makeMessages(label, count) {
    const messages = [];
    for (let i = 0; i < count; i++) {
        messages.push({
            key: `${label}-key-${i % 23}`,
            value: `${label} message ${String(i).padStart(5, '0')} `
                + 'kafkajs payload '.repeat(1 + (i % 7)),
            headers: { source: 'kafkajs', seq: String(i) },
        });
    }
    return messages;
}

async function main() {
    const admin = kafka.admin();
    await step('adminConnect', () => admin.connect());
    const topicSpec = { topic, numPartitions: 3, replicationFactor: 1 };
    const create = () => admin.createTopics({
        topics: [topicSpec], waitForLeaders: true, timeout: 10000,
    });
    await step('createTopics', create);
    await step('createTopicsAgain', create);
    await step('listTopics', () => admin.listTopics());
    await step('fetchTopicMetadata', async () => {
        const meta = await admin.fetchTopicMetadata({ topics: [topic] });
        return meta.topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({
                partition: p.partitionId, leader: p.leader, error: p.partitionErrorCode,
            })),
        }));
    });

    const producer = kafka.producer({
        createPartitioner: recordingPartitioner,
        allowAutoTopicCreation: false,
    });
    await step('producerConnect', () => producer.connect());
    await step('produce', () => sendAll(producer, 'plain', makeMessages('plain', 600), 50, true));
    await step('producerDisconnect', () => producer.disconnect());

    const idempotent = kafka.producer({
        createPartitioner: recordingPartitioner,
        allowAutoTopicCreation: false,
        idempotent: true,
        maxInFlightRequests: 1,
    });
    await step('idempotentConnect', () => idempotent.connect());
    await step('idempotentProduce',
        () => sendAll(idempotent, 'idempotent', makeMessages('idempotent', 400), 40, true));
    await step('idempotentDisconnect', () => idempotent.disconnect());

    await step('fetchTopicOffsets', () => admin.fetchTopicOffsets(topic));
    await step('describeConfigs', async () => {
        const answer = await admin.describeConfigs({
            resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
            includeSynonyms: false,
        });
        const configs = {};
        for (const resource of answer.resources) {
            if (resource.errorCode !== 0) {
                throw new Error(`describeConfigs error code ${resource.errorCode}`);
            }
            for (const entry of resource.configEntries) {
                configs[entry.configName] = entry.configValue;
            }
        }
        return configs;
    });
    await step('adminDisconnect', () => admin.disconnect());
}

run('kafkajs_client.js', summary, main);
