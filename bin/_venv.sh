# shellcheck shell=bash
# Shared by bin/start and bin/test (sourced, not run): go to the project root, create .venv with
# Python 3.11 when it is missing, and install the project with its dev extras whenever
# pyproject.toml changed since the last install. Leaves .venv/bin first on PATH.

MADOGUCHI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$MADOGUCHI_ROOT"

_venv_is_311() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' >/dev/null 2>&1
}

_venv_find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3 python; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if _venv_is_311 "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if [ -x .venv/bin/python ] && ! _venv_is_311 .venv/bin/python; then
    echo "==> .venv does not run Python 3.11; recreating it" >&2
    rm -rf .venv
fi

if [ ! -x .venv/bin/python ]; then
    if ! _python="$(_venv_find_python)"; then
        echo "error: Python 3.11 is required (python3.11 or python3); set PYTHON=/path/to/python3.11" >&2
        exit 1
    fi
    echo "==> Creating .venv with $("$_python" --version 2>&1)"
    "$_python" -m venv .venv
    unset _python
fi

# The stamp is a copy of the pyproject.toml last installed: reinstall only when it differs.
_venv_stamp=.venv/.installed-pyproject.toml
if ! cmp -s pyproject.toml "$_venv_stamp"; then
    echo "==> Installing Madoguchi and its dependencies into .venv (pip install -e '.[dev]')"
    .venv/bin/python -m pip install -qq --disable-pip-version-check -e '.[dev]'
    cp pyproject.toml "$_venv_stamp"
fi
unset _venv_stamp

export VIRTUAL_ENV="$MADOGUCHI_ROOT/.venv"
export PATH="$VIRTUAL_ENV/bin:$PATH"
hash -r
