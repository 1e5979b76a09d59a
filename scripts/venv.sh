# Sourced by scripts/demo.sh and scripts/test.sh (from the clone's root): the clone's own virtual
# environment in .venv, created with the machine's python3 (Debian's, Ubuntu's, a pyenv one,
# macOS's) and reused. Nothing is installed outside .venv except, as root on Debian/Ubuntu, the
# system packages named below (python3-venv, and what the tests need).
export PIP_DISABLE_PIP_VERSION_CHECK=1

# A Python 3.10 or newer: python3 first, then versioned names (macOS's own python3 is 3.9).
find_python() {
    local py
    for py in python3 python3.13 python3.12 python3.11 python3.10; do
        if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            command -v "$py"
            return 0
        fi
    done
    echo "error: needs Python 3.10 or newer (found: $(python3 --version 2>&1 || echo 'no python3'))." >&2
    echo "  Debian/Ubuntu: sudo apt install python3; macOS: brew install python, or python.org's installer." >&2
    return 1
}

# Debian/Ubuntu packages, installed with apt as root (or with sudo when it needs no password).
# Usage: apt_install PACKAGE...; fails with the command to run when it cannot.
apt_install() {
    local sudo="" log
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi
    fi
    if [ "$sudo" = none ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "error: this needs the system package(s) $*; install them (Debian/Ubuntu: sudo apt-get install $*)" >&2
        return 1
    fi
    log=$(mktemp)
    if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "error: could not install $* with apt-get" >&2
        return 1
    fi
    rm -f "$log"
}

# Create .venv when it is missing or broken (Debian without python3-venv: install it as root, or
# say what to install), then install the package, with the extra named in $1 ("" or "test"),
# unless this pyproject.toml was installed with that extra already.
ensure_venv() {
    local extra="$1" py stamp want err ver
    if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
        py=$(find_python) || return 1
        rm -rf .venv
        if ! err=$("$py" -m venv .venv 2>&1); then
            rm -rf .venv
            ver=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
            case "$err" in
                *ensurepip*|*python3-venv*|*"No module named venv"*)
                    echo "$py has no working venv module: it is in the Debian/Ubuntu package python$ver-venv" >&2
                    apt_install "python$ver-venv" || return 1
                    "$py" -m venv .venv || { rm -rf .venv; return 1; } ;;
                *)
                    echo "$err" >&2
                    echo "error: '$py -m venv .venv' failed" >&2
                    return 1 ;;
            esac
        fi
    fi
    stamp=".venv/.installed${extra:+-$extra}"
    want="$(cksum < pyproject.toml)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "installing ballot-omr${extra:+ [$extra]} into .venv (the first time: a minute or more)" >&2
        .venv/bin/python -m pip install -q -e ".${extra:+[$extra]}"
        echo "$want" > "$stamp"
    fi
}
