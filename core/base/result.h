// Operating errors are values. A Result<T, E> holds either a T or an E, where
// E is the error enum of the module that produced it (each module has its own,
// mapped to Kafka error codes at the edge). Programmer errors are assertions.
#pragma once

#include <type_traits>
#include <utility>
#include <variant>

#include "core/base/assert.h"

namespace samsa {

// Wraps an error so that Result can be built from it unambiguously.
template <class E>
struct Failure {
    E error;
};
template <class E>
Failure(E) -> Failure<E>;

template <class T, class E>
class [[nodiscard]] Result {
public:
    Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
    Result(Failure<E> failure)                                               // NOLINT
        : storage_(std::in_place_index<1>, std::move(failure.error)) {}

    [[nodiscard]] bool ok() const noexcept { return storage_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & {
        SAMSA_ASSERT_MSG(ok(), "value() of a failed Result");
        return std::get<0>(storage_);
    }
    const T& value() const& {
        SAMSA_ASSERT_MSG(ok(), "value() of a failed Result");
        return std::get<0>(storage_);
    }
    T&& value() && {
        SAMSA_ASSERT_MSG(ok(), "value() of a failed Result");
        return std::get<0>(std::move(storage_));
    }
    const E& error() const {
        SAMSA_ASSERT_MSG(!ok(), "error() of a successful Result");
        return std::get<1>(storage_);
    }

private:
    std::variant<T, E> storage_;
};

// A result with no value: success, or an error.
template <class E>
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(Failure<E> failure) : failed_(true), error_(std::move(failure.error)) {}  // NOLINT

    [[nodiscard]] bool ok() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return ok(); }
    const E& error() const {
        SAMSA_ASSERT_MSG(failed_, "error() of a successful Status");
        return error_;
    }

private:
    bool failed_ = false;
    E error_{};
};

}  // namespace samsa
