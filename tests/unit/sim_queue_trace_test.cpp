// Tests of the simulator's plumbing: the event queue (sim/event_queue.h) and
// the digest and determinism recorder (sim/trace.h).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/prng.h"
#include "sim/event_queue.h"
#include "sim/trace.h"
#include "tests/unit/printers.h"

namespace samsa::sim {
namespace {

const Instant kT0 = Instant::zero();

TEST(EventQueue, PopsByTimeThenBySchedulingOrder) {
    EventQueue<std::string> queue(100);
    EXPECT_TRUE(queue.empty());
    queue.push(kT0 + Duration::milliseconds(5), "c");
    queue.push(kT0 + Duration::milliseconds(1), "a");
    queue.push(kT0 + Duration::milliseconds(5), "d");
    queue.push(kT0 + Duration::milliseconds(1), "b");
    queue.push(kT0 + Duration::milliseconds(9), "e");
    EXPECT_EQ(queue.size(), 5U);
    EXPECT_EQ(queue.next_time(), kT0 + Duration::milliseconds(1));
    std::string order;
    std::uint64_t last_sequence = 0;
    Instant last_at = kT0;
    while (!queue.empty()) {
        auto popped = queue.pop();
        EXPECT_GE(popped.at, last_at);
        if (popped.at == last_at && !order.empty()) {
            EXPECT_GT(popped.sequence, last_sequence);
        }
        last_at = popped.at;
        last_sequence = popped.sequence;
        order += popped.payload;
    }
    EXPECT_EQ(order, "abcde");
}

TEST(EventQueue, ManySimultaneousEventsKeepTheirOrder) {
    // Ties at one instant, interleaved with random other times, reuse of slots.
    EventQueue<int> queue(10000);
    Prng prng(3);
    for (int round = 0; round < 3; ++round) {
        std::vector<int> expected;
        for (int i = 0; i < 1000; ++i) {
            if (prng.chance(0.5)) {
                queue.push(kT0 + Duration::seconds(1), i);
                expected.push_back(i);
            } else {
                queue.push(kT0 + Duration::milliseconds(prng.range(0, 999)), -1);
            }
        }
        std::vector<int> tied;
        Instant last = kT0;
        while (!queue.empty()) {
            const auto popped = queue.pop();
            EXPECT_GE(popped.at, last);
            last = popped.at;
            if (popped.payload >= 0) tied.push_back(popped.payload);
        }
        EXPECT_EQ(tied, expected);
    }
}

TEST(EventQueue, ClearEmptiesIt) {
    EventQueue<int> queue(10);
    for (int i = 0; i < 5; ++i) queue.push(kT0, i);
    queue.clear();
    EXPECT_TRUE(queue.empty());
    queue.push(kT0 + Duration::seconds(1), 42);
    EXPECT_EQ(queue.pop().payload, 42);
}

TEST(EventQueueDeathTest, BoundedAndNoPopWhenEmpty) {
    EventQueue<int> queue(2);
    queue.push(kT0, 1);
    queue.push(kT0, 2);
    EXPECT_DEATH(queue.push(kT0, 3), "simulator events_max exceeded");
    EventQueue<int> empty(2);
    EXPECT_DEATH((void)empty.pop(), "assertion failed");
    EXPECT_DEATH((void)empty.next_time(), "assertion failed");
}

EventRecord record(std::uint64_t index, std::uint64_t effects = 0) {
    return EventRecord{index,     kT0 + Duration::milliseconds(static_cast<std::int64_t>(index)),
                       NodeId(1), EventKind::timer,
                       index * 3, effects};
}

TEST(Digest, OrderSensitiveAndRendersAsHex) {
    Digest a;
    Digest b;
    EXPECT_EQ(a.value(), b.value());
    a.add(record(1));
    a.add(record(2));
    b.add(record(2));
    b.add(record(1));
    EXPECT_NE(a.value(), b.value());
    Digest c;
    c.add(record(1));
    c.add(record(2, 1));  // one differing field
    EXPECT_NE(a.value(), c.value());
    EXPECT_EQ(a.hex().size(), 16U);
    EXPECT_EQ(a.hex(), hex64(a.value()));
    EXPECT_EQ(hex64(0x0123456789abcdefULL), "0123456789abcdef");
    EXPECT_EQ(hex64(0), "0000000000000000");
}

TEST(EventRecord, RendersItsFields) {
    const auto text = record(7).to_string();
    EXPECT_EQ(text,
              "#7 t=0.007000000 node=1 timer payload=0000000000000015 effects=0000000000000000");
    EXPECT_STREQ(to_string(EventKind::deferred), "deferred");
}

TEST(Recorder, IdenticalRunsDoNotDiverge) {
    Recorder recorder(Recorder::Mode::record);
    for (std::uint64_t i = 0; i < 10; ++i) EXPECT_TRUE(recorder.observe(record(i)));
    EXPECT_EQ(recorder.recorded(), 10U);
    recorder.switch_to_compare();
    EXPECT_EQ(recorder.mode(), Recorder::Mode::compare);
    for (std::uint64_t i = 0; i < 10; ++i) EXPECT_TRUE(recorder.observe(record(i)));
    recorder.finish();
    EXPECT_FALSE(recorder.divergence().has_value());
}

TEST(Recorder, StopsAtTheFirstDifference) {
    Recorder recorder(Recorder::Mode::record);
    for (std::uint64_t i = 0; i < 10; ++i) (void)recorder.observe(record(i));
    recorder.switch_to_compare();
    for (std::uint64_t i = 0; i < 4; ++i) EXPECT_TRUE(recorder.observe(record(i)));
    EXPECT_FALSE(recorder.observe(record(4, 99)));
    recorder.set_detail("the second run's event");
    EXPECT_FALSE(recorder.observe(record(5)));  // stays stopped
    recorder.finish();
    const auto& divergence = recorder.divergence();
    ASSERT_TRUE(divergence.has_value());
    EXPECT_EQ(divergence->index, 4U);
    ASSERT_TRUE(divergence->first.has_value());
    ASSERT_TRUE(divergence->second.has_value());
    EXPECT_EQ(*divergence->first, record(4));
    EXPECT_EQ(*divergence->second, record(4, 99));
    EXPECT_EQ(divergence->second_detail, "the second run's event");
}

TEST(Recorder, ShorterAndLongerSecondRunsDiverge) {
    Recorder shorter(Recorder::Mode::record);
    for (std::uint64_t i = 0; i < 5; ++i) (void)shorter.observe(record(i));
    shorter.switch_to_compare();
    for (std::uint64_t i = 0; i < 3; ++i) (void)shorter.observe(record(i));
    shorter.finish();
    ASSERT_TRUE(shorter.divergence().has_value());
    EXPECT_EQ(shorter.divergence()->index, 3U);
    EXPECT_TRUE(shorter.divergence()->first.has_value());
    EXPECT_FALSE(shorter.divergence()->second.has_value());

    Recorder longer(Recorder::Mode::record);
    for (std::uint64_t i = 0; i < 2; ++i) (void)longer.observe(record(i));
    longer.switch_to_compare();
    for (std::uint64_t i = 0; i < 2; ++i) EXPECT_TRUE(longer.observe(record(i)));
    EXPECT_FALSE(longer.observe(record(2)));
    ASSERT_TRUE(longer.divergence().has_value());
    EXPECT_FALSE(longer.divergence()->first.has_value());
    EXPECT_TRUE(longer.divergence()->second.has_value());
}

}  // namespace
}  // namespace samsa::sim
