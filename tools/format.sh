#!/usr/bin/env bash
# Formats every C++ file under core/ net/ runtime/ sim/ bench/ tests/ in place
# with clang-format and the repo's .clang-format (the same set that
# tools/lint/check_format.sh checks).
# Usage: tools/format.sh [REPO_ROOT]   (default: the repo this script is in)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${1:-${here}/..}" && pwd)"
# shellcheck source=tools/lint/cxx_files.sh
source "${here}/lint/cxx_files.sh"

if ! command -v clang-format >/dev/null 2>&1; then
    echo "format: clang-format not found in PATH (run tools/bootstrap.sh)" >&2
    exit 1
fi

cd "${root}"
count=0
while IFS= read -r -d '' f; do
    clang-format --style=file -i "${f}"
    count=$((count + 1))
done < <(cxx_files "${root}")
echo "format: ran clang-format on ${count} files"
