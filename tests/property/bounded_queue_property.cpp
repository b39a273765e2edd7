// Property: BoundedQueue behaves like a std::deque with a capacity limit, for
// any sequence of try_push / pop / clear. RapidCheck prints the seed and the
// shrunk sequence on failure; replay with RC_PARAMS="seed=N".
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstddef>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "core/base/bounded_queue.h"

namespace samsa {
namespace {

// (kind, value): kind 0-5 push, 6-8 pop, 9 clear - pushes dominate, so the
// queue fills up and wraps around.
using Op = std::pair<int, int>;

rc::Gen<std::vector<Op>> operations() {
    return rc::gen::container<std::vector<Op>>(
        rc::gen::pair(rc::gen::inRange(0, 10), rc::gen::arbitrary<int>()));
}

template <class T>
void check_same(BoundedQueue<T>& queue, const std::deque<T>& model, std::size_t capacity) {
    RC_ASSERT(queue.size() == model.size());
    RC_ASSERT(queue.capacity() == capacity);
    RC_ASSERT(queue.empty() == model.empty());
    RC_ASSERT(queue.full() == (model.size() == capacity));
    for (std::size_t i = 0; i < model.size(); ++i) RC_ASSERT(queue.at(i) == model[i]);
    if (!model.empty()) RC_ASSERT(queue.front() == model.front());
}

template <class T, class Make>
void run_against_model(std::size_t capacity, const std::vector<Op>& ops, Make make) {
    BoundedQueue<T> queue(capacity);
    std::deque<T> model;
    for (const auto& [kind, value] : ops) {
        if (kind < 6) {
            const bool pushed = queue.try_push(make(value));
            RC_ASSERT(pushed == (model.size() < capacity));
            if (pushed) model.push_back(make(value));
        } else if (kind < 9) {
            if (model.empty()) {
                RC_ASSERT(queue.empty());
            } else {
                RC_ASSERT(queue.pop() == model.front());
                model.pop_front();
            }
        } else {
            queue.clear();
            model.clear();
        }
        check_same(queue, model, capacity);
    }
}

RC_GTEST_PROP(BoundedQueueProperty, AgreesWithACappedDeque, ()) {
    const auto capacity = *rc::gen::inRange<std::size_t>(1, 17);
    const auto ops = *operations();
    run_against_model<int>(capacity, ops, [](int v) { return v; });
}

RC_GTEST_PROP(BoundedQueueProperty, AgreesWithACappedDequeOfStrings, ()) {
    const auto capacity = *rc::gen::inRange<std::size_t>(1, 9);
    const auto ops = *operations();
    run_against_model<std::string>(capacity, ops, [](int v) {
        return std::string(static_cast<std::size_t>(v & 31), 'x') + std::to_string(v);
    });
}

}  // namespace
}  // namespace samsa
