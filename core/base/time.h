// Time as integers. There is no clock here: an Instant is handed to a state
// machine by whoever drives it (the runtime's monotonic clock, or the
// simulator's virtual time). Both are nanoseconds since an arbitrary origin.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace samsa {

class Duration {
public:
    constexpr Duration() noexcept = default;

    static constexpr Duration nanoseconds(std::int64_t n) noexcept { return Duration(n); }
    static constexpr Duration microseconds(std::int64_t n) noexcept { return Duration(n * 1000); }
    static constexpr Duration milliseconds(std::int64_t n) noexcept {
        return Duration(n * 1000 * 1000);
    }
    static constexpr Duration seconds(std::int64_t n) noexcept {
        return Duration(n * 1000 * 1000 * 1000);
    }
    static constexpr Duration zero() noexcept { return Duration(0); }

    [[nodiscard]] constexpr std::int64_t count_ns() const noexcept { return ns_; }
    [[nodiscard]] constexpr std::int64_t count_us() const noexcept { return ns_ / 1000; }
    [[nodiscard]] constexpr std::int64_t count_ms() const noexcept { return ns_ / 1000000; }
    [[nodiscard]] constexpr double seconds_f() const noexcept {
        return static_cast<double>(ns_) / 1e9;
    }

    constexpr auto operator<=>(const Duration&) const noexcept = default;
    constexpr Duration operator+(Duration other) const noexcept {
        return Duration(ns_ + other.ns_);
    }
    constexpr Duration operator-(Duration other) const noexcept {
        return Duration(ns_ - other.ns_);
    }
    constexpr Duration operator*(std::int64_t k) const noexcept { return Duration(ns_ * k); }
    constexpr Duration operator/(std::int64_t k) const noexcept { return Duration(ns_ / k); }
    constexpr Duration& operator+=(Duration other) noexcept {
        ns_ += other.ns_;
        return *this;
    }

    // "2s", "1500ms", "40us", "7ns": the largest unit that keeps it exact.
    [[nodiscard]] std::string to_string() const;

private:
    constexpr explicit Duration(std::int64_t ns) noexcept : ns_(ns) {}
    std::int64_t ns_{0};
};

class Instant {
public:
    constexpr Instant() noexcept = default;
    static constexpr Instant from_nanoseconds(std::int64_t ns) noexcept { return Instant(ns); }
    static constexpr Instant zero() noexcept { return Instant(0); }

    [[nodiscard]] constexpr std::int64_t nanoseconds() const noexcept { return ns_; }

    constexpr auto operator<=>(const Instant&) const noexcept = default;
    constexpr Instant operator+(Duration d) const noexcept { return Instant(ns_ + d.count_ns()); }
    constexpr Instant operator-(Duration d) const noexcept { return Instant(ns_ - d.count_ns()); }
    constexpr Duration operator-(Instant other) const noexcept {
        return Duration::nanoseconds(ns_ - other.ns_);
    }
    constexpr Instant& operator+=(Duration d) noexcept {
        ns_ += d.count_ns();
        return *this;
    }

    // Seconds with nanosecond precision: "12.000345678".
    [[nodiscard]] std::string to_string() const;

private:
    constexpr explicit Instant(std::int64_t ns) noexcept : ns_(ns) {}
    std::int64_t ns_{0};
};

}  // namespace samsa
