// Always-on assertions. Unlike <cassert>, these are never compiled out: an
// invariant that is worth stating is worth checking in release builds too.
#pragma once

namespace samsa {

// Prints "file:line: assertion failed: expr (message)" to stderr and aborts.
[[noreturn]] void assertion_failed(const char* expression, const char* file, int line,
                                   const char* message) noexcept;

}  // namespace samsa

#define SAMSA_ASSERT(condition)                                            \
    do {                                                                   \
        if (!(condition)) [[unlikely]] {                                   \
            ::samsa::assertion_failed(#condition, __FILE__, __LINE__, ""); \
        }                                                                  \
    } while (false)

#define SAMSA_ASSERT_MSG(condition, message)                                      \
    do {                                                                          \
        if (!(condition)) [[unlikely]] {                                          \
            ::samsa::assertion_failed(#condition, __FILE__, __LINE__, (message)); \
        }                                                                         \
    } while (false)

// Marks a branch that must never run.
#define SAMSA_UNREACHABLE(message) \
    ::samsa::assertion_failed("unreachable", __FILE__, __LINE__, (message))
