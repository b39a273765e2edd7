// The one place in core/ that writes anywhere: the last words of a process whose
// invariant broke. stderr is unbuffered, so the message is out before abort().
#include "core/base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace samsa {

void assertion_failed(const char* expression, const char* file, int line,
                      const char* message) noexcept {
    if (message != nullptr && message[0] != '\0') {
        std::fprintf(stderr, "%s:%d: assertion failed: %s (%s)\n", file, line, expression, message);
    } else {
        std::fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expression);
    }
    std::abort();
}

}  // namespace samsa
