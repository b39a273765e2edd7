// A fresh directory under /tmp for tests on real files, removed with
// everything in it when the test ends.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "core/base/assert.h"

namespace samsa::testing {

class TempDir {
public:
    explicit TempDir(const std::string& name = "samsa") {
        std::string pattern = "/tmp/" + name + "-XXXXXX";
        const char* made = ::mkdtemp(pattern.data());
        SAMSA_ASSERT(made != nullptr);
        path_ = made;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

}  // namespace samsa::testing
