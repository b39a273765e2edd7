// GoogleTest printers for samsa's value types, so that failed expectations
// show "t=10.100000000" rather than the bytes of an object. gtest finds them
// by argument-dependent lookup, so they live in namespace samsa.
#pragma once

#include <ostream>

#include "core/base/ids.h"
#include "core/base/time.h"

namespace samsa {

inline void PrintTo(const Duration& duration, std::ostream* os) {
    *os << duration.to_string();
}

inline void PrintTo(const Instant& instant, std::ostream* os) {
    *os << "t=" << instant.to_string();
}

inline void PrintTo(const Offset& offset, std::ostream* os) {
    *os << "Offset(" << offset.value() << ")";
}

template <class Tag, class Rep>
void PrintTo(const StrongId<Tag, Rep>& id, std::ostream* os) {
    *os << id.value();
}

}  // namespace samsa
