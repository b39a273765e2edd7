// One scripted machine, two drivers: the simulator's World (no faults) and the
// production Driver on a real directory. Both must produce the same
// transcript of completions - the disk contract of core/io/seam.h is one
// contract, whichever side of the seam carries it out.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/base/prng.h"
#include "core/io/seam.h"
#include "runtime/driver.h"
#include "sim/fault_plan.h"
#include "sim/world.h"

namespace samsa {
namespace {

io::Bytes bytes_of(const std::string& text) {
    return io::Bytes(text.begin(), text.end());
}

// Printable bytes as they are, others as \xNN, so zeros show in a transcript.
std::string text_of(const io::Bytes& bytes) {
    std::string text;
    for (const std::uint8_t byte : bytes) {
        if (byte >= 0x20 && byte < 0x7f && byte != '\\') {
            text += static_cast<char>(byte);
        } else {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
            text += escaped;
        }
    }
    return text;
}

std::string line_of(const io::IoCompleted& done) {
    std::string line = "token=" + done.token.to_string() + " status=" + to_string(done.status) +
                       " size=" + std::to_string(done.size) + " data='" + text_of(done.data) +
                       "' names=[";
    for (std::size_t i = 0; i < done.names.size(); ++i) {
        line += (i == 0 ? "" : ",") + done.names[i];
    }
    return line + "]";
}

// The script: each stage is a batch of effects issued in one step, and the
// next stage starts when every completion of the batch has arrived. Effects
// issued together are all on one queue (one file, or the namespace), so the
// order of completions is fixed by the contract.
struct Stage {
    std::vector<io::Effect> effects;
    std::size_t completions = 0;
};

std::vector<Stage> script() {
    const FileId a(1), b(2), missing(3), again(4);
    auto token = [](std::uint64_t n) { return IoToken(n); };
    std::vector<Stage> stages;
    stages.push_back({{io::Open{token(1), a, "a.log", true, false}}, 1});
    stages.push_back({{io::Write{token(2), a, 0, bytes_of("hello")}}, 1});
    stages.push_back({{io::Write{token(3), a, 5, bytes_of(" world")}, io::Fsync{token(4), a}}, 2});
    stages.push_back({{io::Read{token(5), a, 0, 64}}, 1});
    stages.push_back({{io::Truncate{token(6), a, 5}}, 1});
    stages.push_back({{io::Read{token(7), a, 0, 64}}, 1});
    stages.push_back({{io::Open{token(8), b, "b.log", true, true}}, 1});
    stages.push_back({{io::List{token(9)}}, 1});
    stages.push_back({{io::Remove{token(10), "b.log"}}, 1});
    stages.push_back({{io::List{token(11)}}, 1});
    stages.push_back({{io::SyncDir{token(12)}}, 1});
    stages.push_back({{io::Open{token(13), missing, "missing.log", false, false}}, 1});
    // Beyond the basic script: exclusive create of an existing file; a file
    // removed while open stays usable through its handle; Close orders
    // behind earlier operations and before later ones on its file.
    stages.push_back({{io::Open{token(14), again, "a.log", true, true}}, 1});
    stages.push_back({{io::Truncate{token(15), b, 3}, io::Write{token(16), b, 1, bytes_of("z")},
                       io::Read{token(17), b, 0, 64}},
                      3});
    stages.push_back(
        {{io::Read{token(18), a, 1, 3}, io::Close{a}, io::Read{token(19), a, 0, 4}}, 2});
    stages.push_back({{io::Read{token(20), missing, 0, 4}}, 1});
    // Rename: never over an existing name, not from a missing one; names are
    // ordered among themselves, so Rename, SyncDir, Open(no create) succeed
    // together and the file keeps its bytes under the new name.
    const FileId renamed(5), other(6);
    stages.push_back({{io::Open{token(21), other, "d.log", true, false}, io::Close{other},
                       io::Rename{token(22), "a.log", "d.log"}},
                      2});
    stages.push_back({{io::Rename{token(23), "gone.log", "c.log"}}, 1});
    stages.push_back({{io::Rename{token(24), "a.log", "c.log"}, io::SyncDir{token(25)},
                       io::Open{token(26), renamed, "c.log", false, false}, io::List{token(27)}},
                      4});
    stages.push_back({{io::Read{token(28), renamed, 0, 64}}, 1});
    return stages;
}

class ContractMachine {
public:
    explicit ContractMachine(std::vector<std::string>* transcript)
        : transcript_(transcript), stages_(script()) {}

    void step(Instant, const io::Event& event, io::Outbox& out) {
        if (std::holds_alternative<io::Start>(event)) {
            transcript_->push_back("start");
            issue(out);
            return;
        }
        const auto* done = std::get_if<io::IoCompleted>(&event);
        SAMSA_ASSERT(done != nullptr && stage_ < stages_.size());
        transcript_->push_back(line_of(*done));
        if (++received_ < stages_[stage_].completions) return;
        ++stage_;
        received_ = 0;
        issue(out);
    }
    [[nodiscard]] bool done() const noexcept { return stage_ == stages_.size(); }

private:
    void issue(io::Outbox& out) {
        if (done()) return;
        for (const auto& effect : stages_[stage_].effects) out.push(effect);
    }

    std::vector<std::string>* transcript_;
    std::vector<Stage> stages_;
    std::size_t stage_ = 0;
    std::size_t received_ = 0;
};

std::vector<std::string> run_on_simulator() {
    std::vector<std::string> transcript;
    sim::World world(1, 1, sim::FaultPlan::none());
    world.set_factory(NodeId(1), sim::factory_of<ContractMachine>([&transcript](NodeId, Prng) {
                          return ContractMachine(&transcript);
                      }));
    world.start();
    world.run_until(Instant::zero() + Duration::seconds(10));
    const auto* machine = world.machine<ContractMachine>(NodeId(1));
    EXPECT_TRUE(machine != nullptr && machine->done()) << "the simulated run did not finish";
    return transcript;
}

std::vector<std::string> run_on_driver() {
    std::string pattern = "/tmp/samsa-contract-XXXXXX";
    const char* made = ::mkdtemp(pattern.data());
    SAMSA_ASSERT(made != nullptr);
    const std::string dir = made;
    std::vector<std::string> transcript;
    {
        runtime::Driver driver(dir);
        auto& machine = driver.host(ContractMachine(&transcript));
        driver.start();
        const bool finished =
            driver.run_until([&machine] { return machine.done(); }, std::chrono::seconds(10));
        EXPECT_TRUE(finished) << "the real run did not finish: "
                              << driver.failure().value_or("timeout");
    }
    std::filesystem::remove_all(dir);
    return transcript;
}

TEST(DiskContract, SimulatorAndRuntimeProduceTheSameTranscript) {
    const auto simulated = run_on_simulator();
    const auto real = run_on_driver();
    EXPECT_EQ(simulated, real);
    // The transcript is what the contract says, not merely the same twice.
    const std::vector<std::string> expected = {
        "start",
        "token=1 status=ok size=0 data='' names=[]",
        "token=2 status=ok size=5 data='' names=[]",
        "token=3 status=ok size=6 data='' names=[]",
        "token=4 status=ok size=0 data='' names=[]",
        "token=5 status=ok size=11 data='hello world' names=[]",
        "token=6 status=ok size=5 data='' names=[]",
        "token=7 status=ok size=5 data='hello' names=[]",
        "token=8 status=ok size=0 data='' names=[]",
        "token=9 status=ok size=2 data='' names=[a.log,b.log]",
        "token=10 status=ok size=0 data='' names=[]",
        "token=11 status=ok size=1 data='' names=[a.log]",
        "token=12 status=ok size=0 data='' names=[]",
        "token=13 status=not_found size=0 data='' names=[]",
        "token=14 status=already_exists size=0 data='' names=[]",
        "token=15 status=ok size=3 data='' names=[]",
        "token=16 status=ok size=1 data='' names=[]",
        "token=17 status=ok size=3 data='\\x00z\\x00' names=[]",
        "token=18 status=ok size=3 data='ell' names=[]",
        "token=19 status=bad_file size=0 data='' names=[]",
        "token=20 status=bad_file size=0 data='' names=[]",
        "token=21 status=ok size=0 data='' names=[]",
        "token=22 status=already_exists size=0 data='' names=[]",
        "token=23 status=not_found size=0 data='' names=[]",
        "token=24 status=ok size=0 data='' names=[]",
        "token=25 status=ok size=0 data='' names=[]",
        "token=26 status=ok size=5 data='' names=[]",
        "token=27 status=ok size=2 data='' names=[c.log,d.log]",
        "token=28 status=ok size=5 data='hello' names=[]",
    };
    EXPECT_EQ(real, expected);
}

}  // namespace
}  // namespace samsa
