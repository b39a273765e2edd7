// Strong identifier types. An Offset cannot be passed where a Term is expected,
// and neither converts silently to or from a bare integer.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>

namespace samsa {

template <class Tag, class Rep>
class StrongId {
public:
    using rep_type = Rep;

    constexpr StrongId() noexcept = default;
    constexpr explicit StrongId(Rep value) noexcept : value_(value) {}

    [[nodiscard]] constexpr Rep value() const noexcept { return value_; }

    constexpr auto operator<=>(const StrongId&) const noexcept = default;

    [[nodiscard]] std::string to_string() const { return std::to_string(value_); }

    static constexpr StrongId max() noexcept { return StrongId(std::numeric_limits<Rep>::max()); }

private:
    Rep value_{};
};

// Identifiers of things.
using NodeId = StrongId<struct NodeIdTag, std::int32_t>;
using PartitionId = StrongId<struct PartitionIdTag, std::int32_t>;
using GroupId = StrongId<struct GroupIdTag, std::uint64_t>;
using Generation = StrongId<struct GenerationTag, std::int32_t>;
using ProducerId = StrongId<struct ProducerIdTag, std::int64_t>;

// Positions in ordered sequences. Offset and Term also allow stepping, because
// logs and elections advance them one by one.
using Term = StrongId<struct TermTag, std::int64_t>;

class Offset {
public:
    constexpr Offset() noexcept = default;
    constexpr explicit Offset(std::int64_t value) noexcept : value_(value) {}

    [[nodiscard]] constexpr std::int64_t value() const noexcept { return value_; }
    [[nodiscard]] constexpr Offset next() const noexcept { return Offset(value_ + 1); }
    [[nodiscard]] constexpr Offset plus(std::int64_t delta) const noexcept {
        return Offset(value_ + delta);
    }
    // Number of offsets in [from, this).
    [[nodiscard]] constexpr std::int64_t distance_from(Offset from) const noexcept {
        return value_ - from.value_;
    }

    constexpr auto operator<=>(const Offset&) const noexcept = default;
    [[nodiscard]] std::string to_string() const { return std::to_string(value_); }

private:
    std::int64_t value_{0};
};

// Tokens the core hands to the runtime with a request; the runtime hands them
// back with the completion (see core/io/seam.h).
using TimerId = StrongId<struct TimerIdTag, std::uint64_t>;
using IoToken = StrongId<struct IoTokenTag, std::uint64_t>;
using FileId = StrongId<struct FileIdTag, std::uint32_t>;
// A client connection (Kafka protocol), unique for the life of the process.
using ClientId = StrongId<struct ClientIdTag, std::uint64_t>;

}  // namespace samsa

template <class Tag, class Rep>
struct std::hash<samsa::StrongId<Tag, Rep>> {
    std::size_t operator()(const samsa::StrongId<Tag, Rep>& id) const noexcept {
        return std::hash<Rep>{}(id.value());
    }
};

template <>
struct std::hash<samsa::Offset> {
    std::size_t operator()(const samsa::Offset& offset) const noexcept {
        return std::hash<std::int64_t>{}(offset.value());
    }
};
