#!/usr/bin/env bash
# Installs the Matrix homeserver Synapse (from PyPI) into a virtualenv under
# the build directory, for the Matrix integration tests. Cached: a second run
# with the venv in place does nothing.
#
#   scripts/synapse-venv.sh            # → target/synapse-venv
#   SYNAPSE_VENV=/some/dir scripts/synapse-venv.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="1.163.2"
VENV="${SYNAPSE_VENV:-${CARGO_TARGET_DIR:-target}/synapse-venv}"

if [ -x "$VENV/bin/python" ] \
    && "$VENV/bin/python" -c "import synapse, sys; sys.exit(synapse.__version__ != '$VERSION')" 2>/dev/null; then
    echo "Synapse $VERSION already in $VENV"
    exit 0
fi

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "Synapse needs Python 3.10 or newer ($PYTHON is missing or older)." >&2
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq python3 python3-venv
        PYTHON=python3
    else
        exit 1
    fi
fi
# Debian's python3 needs python3-venv for `-m venv`.
if ! "$PYTHON" -m venv --help >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq python3-venv
fi

echo "Installing Synapse $VERSION into $VENV"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "matrix-synapse==$VERSION"
"$VENV/bin/python" -c "import synapse; print('Synapse', synapse.__version__, 'in $VENV')"
