#!/usr/bin/env bash
# Installs the Debian packages listed in tools/debian-packages.txt that are not
# installed yet. Idempotent: when everything is present it does nothing and
# prints a single line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
list="${here}/debian-packages.txt"

if [[ ! -f "${list}" ]]; then
    echo "bootstrap: package list not found: ${list}" >&2
    exit 1
fi

packages=()
while IFS= read -r line || [[ -n "${line}" ]]; do
    line="${line%%#*}"                    # drop comments
    line="${line//[[:space:]]/}"          # drop whitespace
    [[ -n "${line}" ]] && packages+=("${line}")
done <"${list}"

missing=()
for pkg in "${packages[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null || true)"
    if [[ "${status}" != *"install ok installed"* ]]; then
        missing+=("${pkg}")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "bootstrap: all ${#packages[@]} packages installed"
    exit 0
fi

echo "bootstrap: installing ${#missing[@]} missing package(s): ${missing[*]}"

sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo_cmd=(sudo)
    else
        echo "bootstrap: not root and sudo is not available; install manually:" >&2
        echo "  apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

${sudo_cmd[@]+"${sudo_cmd[@]}"} apt-get update
${sudo_cmd[@]+"${sudo_cmd[@]}"} env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
echo "bootstrap: done"
