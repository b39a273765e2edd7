#include "core/base/time.h"

namespace samsa {

std::string Duration::to_string() const {
    const std::int64_t magnitude = ns_ < 0 ? -ns_ : ns_;
    if (magnitude != 0 && magnitude % 1000000000 == 0)
        return std::to_string(ns_ / 1000000000) + "s";
    if (magnitude != 0 && magnitude % 1000000 == 0) return std::to_string(ns_ / 1000000) + "ms";
    if (magnitude != 0 && magnitude % 1000 == 0) return std::to_string(ns_ / 1000) + "us";
    return std::to_string(ns_) + "ns";
}

std::string Instant::to_string() const {
    const bool negative = ns_ < 0;
    const std::int64_t magnitude = negative ? -ns_ : ns_;
    std::string fraction = std::to_string(magnitude % 1000000000);
    fraction.insert(0, 9 - fraction.size(), '0');
    return (negative ? "-" : "") + std::to_string(magnitude / 1000000000) + "." + fraction;
}

}  // namespace samsa
