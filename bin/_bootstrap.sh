# Shared by bin/run and bin/test: make .venv ready, quickly when it already is.
# Sourced, not executed. Needs Python 3.11 or 3.12 (python3, or PYTHON=/path/to/python).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
EXTRAS="embedded,dev"
PYTHON="${PYTHON:-python3}"

say() { printf '[bootstrap] %s\n' "$*"; }
die() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

create_venv() {
  command -v "$PYTHON" >/dev/null \
    || die "$PYTHON not found: install Python 3.11 (apt-get install -y python3)"
  "$PYTHON" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' \
    || die "Effi Core needs Python 3.11 or 3.12; set PYTHON=/path/to/python3.11"
  if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    die "the venv module is missing: apt-get install -y python3-venv, then run this again"
  fi
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
}

install_project() {
  # Reinstall only when pyproject.toml (or the extras asked for) changed since last time.
  local stamp="$VENV/.effi-install-stamp" want
  want="$( { cat "$ROOT/pyproject.toml"; echo "extras=$EXTRAS"; } | sha256sum | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    say ".venv is up to date with pyproject.toml"
    return
  fi
  say "installing the project into .venv (first run: torch is several GB, a few minutes)"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT[$EXTRAS]"
  echo "$want" >"$stamp"
  say "installed"
}

[[ -x "$VENV/bin/python" ]] || create_venv
install_project
cd "$ROOT"
