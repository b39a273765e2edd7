#include "core/base/prng.h"

#include <cmath>

namespace samsa {

double Prng::exponential(double mean) noexcept {
    SAMSA_ASSERT(mean >= 0.0);
    // 1 - unit() lies in (0, 1], so the logarithm is finite.
    return -std::log(1.0 - unit()) * mean;
}

}  // namespace samsa
