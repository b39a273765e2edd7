// Tests of the fault plan (sim/fault_plan.h): parsing of --faults specs,
// swarm draws, and the counters of fired faults.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>

#include "core/base/prng.h"
#include "sim/fault_plan.h"

namespace samsa::sim {
namespace {

TEST(FaultPlan, ParseNoneAllAndLists) {
    Prng prng(1);
    std::string error;
    const auto none = FaultPlan::parse("none", prng, error);
    ASSERT_TRUE(none.has_value());
    EXPECT_EQ(none->to_string(), "(none)");
    for (const auto& kind : kFaultKinds) EXPECT_FALSE(none->enabled(kind.kind)) << kind.name;

    const auto all = FaultPlan::parse("all", prng, error);
    ASSERT_TRUE(all.has_value());
    for (const auto& kind : kFaultKinds) {
        const bool configurable = kind.swarm_high > 0.0;
        EXPECT_EQ(all->enabled(kind.kind), configurable) << kind.name;
        if (configurable) {
            EXPECT_GE(all->rate(kind.kind), kind.swarm_low * 0.999999) << kind.name;
            EXPECT_LE(all->rate(kind.kind), kind.swarm_high * 1.000001) << kind.name;
        }
    }

    const auto list = FaultPlan::parse("crash,loss=0.5", prng, error);
    ASSERT_TRUE(list.has_value()) << error;
    EXPECT_DOUBLE_EQ(list->rate(FaultKind::loss), 0.5);
    EXPECT_GE(list->rate(FaultKind::crash), info(FaultKind::crash).swarm_low * 0.999999);
    EXPECT_LE(list->rate(FaultKind::crash), info(FaultKind::crash).swarm_high * 1.000001);
    int enabled = 0;
    for (const auto& kind : kFaultKinds) enabled += list->enabled(kind.kind) ? 1 : 0;
    EXPECT_EQ(enabled, 2);
    EXPECT_NE(list->to_string().find("loss=0.5"), std::string::npos) << list->to_string();

    const auto network = FaultPlan::parse("network", prng, error);
    ASSERT_TRUE(network.has_value());
    for (const auto& kind : kFaultKinds) {
        const bool expected = kind.group == FaultGroup::network && kind.swarm_high > 0.0;
        EXPECT_EQ(network->enabled(kind.kind), expected) << kind.name;
    }
    const auto network_no_loss = FaultPlan::parse("network,loss=0", prng, error);
    ASSERT_TRUE(network_no_loss.has_value());
    EXPECT_FALSE(network_no_loss->enabled(FaultKind::loss));
    EXPECT_TRUE(network_no_loss->enabled(FaultKind::duplicate));
}

TEST(FaultPlan, ParseRejectsBadSpecs) {
    for (const char* spec : {"bogus", "crash,bogus", "loss=abc", "loss=", "loss=-1", "loss=nan",
                             "partition_drop", "lost_unsynced=0.5"}) {
        Prng prng(1);
        std::string error;
        EXPECT_FALSE(FaultPlan::parse(spec, prng, error).has_value()) << spec;
        EXPECT_FALSE(error.empty()) << spec;
    }
    Prng prng(1);
    std::string error;
    EXPECT_FALSE(FaultPlan::parse("bogus", prng, error).has_value());
    EXPECT_NE(error.find("bogus"), std::string::npos) << error;
}

TEST(FaultPlan, SwarmIsDeterministicPerSeedAndVaries) {
    std::set<std::string> plans;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        Prng a(seed);
        Prng b(seed);
        std::string error;
        const auto pa = FaultPlan::parse("swarm", a, error);
        const auto pb = FaultPlan::parse("", b, error);  // empty means swarm
        ASSERT_TRUE(pa && pb);
        EXPECT_EQ(pa->to_string(), pb->to_string());
        plans.insert(pa->to_string());
    }
    EXPECT_GT(plans.size(), 15U);
}

TEST(FaultCounters, AddMergeTotalAndRender) {
    FaultCounters a;
    EXPECT_EQ(a.to_string(), "(none)");
    a.add(FaultKind::loss, 3);
    a.add(FaultKind::crash);
    FaultCounters b;
    b.add(FaultKind::loss);
    b.merge(a);
    EXPECT_EQ(b.count(FaultKind::loss), 4U);
    EXPECT_EQ(b.count(FaultKind::crash), 1U);
    EXPECT_EQ(b.total(), 5U);
    EXPECT_EQ(b.to_string(), "loss=4 crash=1");
    EXPECT_EQ(fault_kind_from_name("torn_write"), FaultKind::torn_write);
    EXPECT_FALSE(fault_kind_from_name("torn").has_value());
    EXPECT_STREQ(to_string(FaultGroup::disk), "disk");
    for (const auto& kind : kFaultKinds) EXPECT_EQ(info(kind.kind).name, kind.name);
}

}  // namespace
}  // namespace samsa::sim
