// The idempotent producers' de-duplication window of one partition.
#include "core/broker/producers.h"

#include <gtest/gtest.h>

#include <climits>

namespace samsa::broker {
namespace {

using Verdict = ProducerWindow::Verdict;

ProducerWindow::Batch batch(std::int32_t first, std::int32_t records, std::int16_t epoch = 0,
                            std::int64_t producer = 7) {
    return {producer, epoch, first, first + records - 1};
}

TEST(ProducerWindow, InSequenceBatchesAreAppendedAndRetriesGetTheirFirstOffset) {
    ProducerWindow window;
    EXPECT_EQ(window.check(batch(0, 3)).verdict, Verdict::append);
    window.appended(batch(0, 3), 1, Offset(100));
    EXPECT_EQ(window.check(batch(3, 2)).verdict, Verdict::append);
    window.appended(batch(3, 2), 2, Offset(103));
    // A retry of the first batch while it is still being written: wait for append 1.
    auto retry = window.check(batch(0, 3));
    EXPECT_EQ(retry.verdict, Verdict::duplicate);
    EXPECT_EQ(retry.base, Offset(100));
    EXPECT_EQ(retry.append, 1U);
    EXPECT_TRUE(retry.in_flight);
    window.completed(1, true);
    retry = window.check(batch(0, 3));
    EXPECT_FALSE(retry.in_flight);
    EXPECT_EQ(window.check(batch(3, 2)).base, Offset(103));
    // A gap, and a batch overlapping but not equal to a remembered one.
    EXPECT_EQ(window.check(batch(6, 1)).error_code, kOutOfOrderSequence);
    EXPECT_EQ(window.check(batch(1, 2)).error_code, kOutOfOrderSequence);
    EXPECT_EQ(window.check(batch(5, 1)).verdict, Verdict::append);
}

TEST(ProducerWindow, OnlyTheLastFiveBatchesAreRemembered) {
    ProducerWindow window;
    for (std::int32_t i = 0; i < 8; ++i) {
        ASSERT_EQ(window.check(batch(i, 1)).verdict, Verdict::append) << i;
        window.appended(batch(i, 1), static_cast<std::uint64_t>(i + 1), Offset(10 * i));
        window.completed(static_cast<std::uint64_t>(i + 1), true);
    }
    for (std::int32_t i = 3; i < 8; ++i) {
        EXPECT_EQ(window.check(batch(i, 1)).verdict, Verdict::duplicate) << i;
        EXPECT_EQ(window.check(batch(i, 1)).base, Offset(10 * i));
    }
    EXPECT_EQ(window.check(batch(2, 1)).verdict, Verdict::refuse);  // out of the window
}

TEST(ProducerWindow, EpochsFenceOlderProducersAndRestartSequences) {
    ProducerWindow window;
    window.appended(batch(0, 5, 1), 1, Offset(0));
    EXPECT_EQ(window.check(batch(5, 1, 0)).error_code, kInvalidProducerEpoch);
    EXPECT_EQ(window.check(batch(5, 1, 2)).error_code, kOutOfOrderSequence);
    EXPECT_EQ(window.check(batch(0, 1, 2)).verdict, Verdict::append);
    window.appended(batch(0, 1, 2), 2, Offset(5));
    EXPECT_EQ(window.check(batch(5, 1, 1)).error_code, kInvalidProducerEpoch);
    // Other producers are independent, and unknown ones start anywhere (after a restart).
    EXPECT_EQ(window.check(batch(42, 1, 0, 8)).verdict, Verdict::append);
}

TEST(ProducerWindow, AFailedAppendIsForgottenWithWhatFollowedIt) {
    ProducerWindow window;
    window.appended(batch(0, 1), 1, Offset(0));
    window.appended(batch(1, 1), 2, Offset(1));
    window.appended(batch(2, 1), 3, Offset(2));
    window.completed(1, true);
    window.completed(2, false);  // the disk failed: batches 1 and 2 are not in the log
    window.completed(3, false);
    EXPECT_EQ(window.check(batch(1, 1)).verdict, Verdict::append);  // the retry is taken
    EXPECT_EQ(window.check(batch(0, 1)).verdict, Verdict::duplicate);
    window.completed(1, false);  // already done: nothing changes
    EXPECT_EQ(window.check(batch(0, 1)).verdict, Verdict::duplicate);
}

TEST(ProducerWindow, SequencesWrapAndProducersAreBounded) {
    EXPECT_EQ(ProducerWindow::next_sequence(INT32_MAX), 0);
    ProducerWindow window(ProducerLimits{5, 3});
    window.appended({7, 0, INT32_MAX - 1, INT32_MAX}, 1, Offset(0));
    EXPECT_EQ(window.check(batch(0, 1)).verdict, Verdict::append);
    for (std::int64_t p = 1; p <= 3; ++p) window.appended(batch(0, 1, 0, 100 + p), 10, Offset(0));
    EXPECT_EQ(window.producers(), 3U);
    // Producer 7, the least recently seen, made room: it is unknown again.
    EXPECT_EQ(window.check(batch(12345, 1)).verdict, Verdict::append);
}

}  // namespace
}  // namespace samsa::broker
