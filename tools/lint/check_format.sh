#!/usr/bin/env bash
# Fails if any C++ file under core/ net/ runtime/ sim/ bench/ tests/ is not
# formatted according to the repo's .clang-format. Fix with tools/format.sh.
# Usage: check_format.sh REPO_ROOT
set -euo pipefail

root="${1:?usage: check_format.sh REPO_ROOT}"
root="$(cd "${root}" && pwd)"
# shellcheck source=tools/lint/cxx_files.sh
source "$(dirname "${BASH_SOURCE[0]}")/cxx_files.sh"

if ! command -v clang-format >/dev/null 2>&1; then
    echo "check_format: clang-format not found in PATH (run tools/bootstrap.sh)" >&2
    exit 1
fi

files=()
while IFS= read -r -d '' f; do files+=("${f}"); done < <(cxx_files "${root}")

cd "${root}"
bad=()
for f in "${files[@]+"${files[@]}"}"; do
    if ! clang-format --style=file --dry-run --Werror "${f}" >/dev/null 2>&1; then
        bad+=("${f}")
    fi
done

if [[ ${#bad[@]} -gt 0 ]]; then
    # A sample of the changes first, then the full list last: meson's
    # --print-errorlogs keeps only the tail of a long log.
    for f in "${bad[@]:0:3}"; do
        echo "--- ${f}: clang-format would change (first lines):"
        clang-format --style=file "${f}" | diff -u "${f}" - | sed -n '3,14p' || true
    done
    echo "check_format: ${#bad[@]} of ${#files[@]} file(s) need clang-format:"
    for f in "${bad[@]}"; do echo "  ${f}"; done
    echo "check_format: run 'bash tools/format.sh' (or 'make format') to fix"
    exit 1
fi
echo "check_format: ${#files[@]} files formatted"
