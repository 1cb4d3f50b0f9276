#!/usr/bin/env bash
# Install everything chidao needs on a fresh Debian machine: system packages,
# a virtualenv in .venv, and the Python dependencies (torch's CPU build first).
# Safe to run again: it skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# OCR of scans and images (Tesseract with its Vietnamese model); DejaVu renders Vietnamese in test fixtures
# chromium: the web chat's browser tests (Playwright drives it; no browser download)
APT_PACKAGES=(${CHIDAO_APT_PACKAGES:-tesseract-ocr tesseract-ocr-vie fonts-dejavu-core chromium})

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "setup: installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

if [ ${#APT_PACKAGES[@]} -gt 0 ] && command -v apt-get >/dev/null; then
    apt_install "${APT_PACKAGES[@]}"
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

stamp=.venv/.chidao-installed
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    export PIP_DISABLE_PIP_VERSION_CHECK=1
    # The pinned CPU build lies on local disk; an unpinned torch would pull CUDA (several GB).
    .venv/bin/pip install -q "torch==2.13.0"
    .venv/bin/pip install -q -e ".[dev]"
    echo "$want" > "$stamp"
fi
# Byte-compile chidao's own modules as pip does an installed package's: an editable install is not,
# and where PYTHONDONTWRITEBYTECODE is set every start compiled them again (~0.4 s of `chidao serve`).
# Up-to-date files are skipped; an edited module is recompiled in memory until the next setup.
.venv/bin/python -m compileall -q bot ingest vectorstore
echo "setup: ready (.venv)"
