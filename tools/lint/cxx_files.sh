# Sourced by tools/lint/check_format.sh and tools/format.sh.
# cxx_files ROOT: prints, NUL-separated, every *.h/*.cpp under the C++ source
# folders, relative to ROOT. Inside a git work tree it lists tracked and
# untracked-but-not-ignored files; elsewhere it falls back to find.
CXX_DIRS=(core net runtime sim bench tests)

cxx_files() {
    local root="$1"
    if git -C "${root}" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "${root}" ls-files -z --cached --others --exclude-standard \
            -- "${CXX_DIRS[@]/%//*.h}" "${CXX_DIRS[@]/%//*.cpp}" |
            while IFS= read -r -d '' f; do
                # ls-files --cached lists files deleted from the work tree too.
                [[ -f "${root}/${f}" ]] && printf '%s\0' "${f}"
            done | sort -zu
    else
        local dirs=()
        local d
        for d in "${CXX_DIRS[@]}"; do
            [[ -d "${root}/${d}" ]] && dirs+=("${d}")
        done
        [[ ${#dirs[@]} -eq 0 ]] && return 0
        (cd "${root}" && find "${dirs[@]}" -type f \( -name '*.h' -o -name '*.cpp' \) -print0) |
            sort -zu
    fi
}
