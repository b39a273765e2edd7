// Type erasure over the StateMachine concept, so one driver - the simulator's
// world or the production runtime - hosts any machine.
#pragma once

#include <utility>

#include "core/io/seam.h"

namespace samsa::io {

class AnyMachine {
public:
    virtual ~AnyMachine() = default;
    virtual void step(Instant now, const Event& event, Outbox& out) = 0;
};

template <StateMachine M>
class MachineBox final : public AnyMachine {
public:
    template <class... Args>
    explicit MachineBox(Args&&... args) : machine_(std::forward<Args>(args)...) {}
    void step(Instant now, const Event& event, Outbox& out) override {
        machine_.step(now, event, out);
    }
    M& machine() noexcept { return machine_; }

private:
    M machine_;
};

}  // namespace samsa::io
