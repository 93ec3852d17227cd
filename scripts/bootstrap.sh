#!/usr/bin/env bash
# Set up everything segur-proofs needs on a fresh Debian machine: the virtual environment with the
# pinned packages, and a system Chromium (Debian's `chromium`) when none is found.
# Idempotent: a second run only checks. Used by `make demo`, `make test` and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY=$cand; break
    fi
  done
fi
if [ -z "$PY" ]; then
  echo "error: Python 3.11 not found; install it (apt-get install python3.11 python3.11-venv) or set PYTHON=/path/to/python3.11" >&2
  exit 2
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.installed"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "bootstrap: installing pinned packages into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]'
  touch "$STAMP"
fi

have_chromium() {
  [ -n "${SEGUR_CHROMIUM:-}" ] && [ -x "${SEGUR_CHROMIUM}" ] && return 0
  for c in chromium-headless-shell chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$c" >/dev/null 2>&1 && return 0
  done
  return 1
}
# Debian packages: Chromium (proofs, screenshots) and DejaVu fonts (the proofs' typeface) for every
# use; the test servers (dovecot for the IMAP mailbox) for `make test` only (BOOTSTRAP_TEST=1).
as_root_apt() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1
}
APT_UPDATED=0
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ $APT_UPDATED = 0 ]; then apt-get -o DPkg::Lock::Timeout=300 update -qq; APT_UPDATED=1; fi
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >/dev/null
}
if ! have_chromium; then
  if as_root_apt; then
    echo "bootstrap: installing Debian's chromium (no Chromium found)"
    apt_install chromium fonts-dejavu-core
  else
    echo "error: no Chromium found; install Debian's chromium (sudo apt-get install chromium fonts-dejavu-core) or set SEGUR_CHROMIUM" >&2
    exit 2
  fi
fi
# Debian's chromium-headless-shell (same Debian chromium source, without the browser's user interface)
# is what proofs and PDF printing use when present: about 40 % less CPU per proof than the full browser.
# Optional: without it (not root, no apt) the full chromium is used, and SEGUR_CHROMIUM wins over both.
if [ -z "${SEGUR_CHROMIUM:-}" ] && ! command -v chromium-headless-shell >/dev/null 2>&1; then
  if as_root_apt; then
    echo "bootstrap: installing Debian's chromium-headless-shell (faster headless Chromium for proofs)"
    apt_install chromium-headless-shell || echo "bootstrap: chromium-headless-shell not installed; the full chromium will be used"
  else
    echo "bootstrap: note: Debian's chromium-headless-shell would make runs faster (sudo apt-get install chromium-headless-shell)"
  fi
fi
if [ ! -d /usr/share/fonts/truetype/dejavu ] && as_root_apt; then
  apt_install fonts-dejavu-core || true
fi
if [ "${BOOTSTRAP_TEST:-0}" = 1 ]; then
  missing=()
  [ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
  command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)   # the tests read proofs as reviewers copy them
  if [ ${#missing[@]} -gt 0 ]; then
    if as_root_apt; then
      echo "bootstrap: installing test servers: ${missing[*]}"
      apt_install "${missing[@]}"
    else
      echo "error: the tests need ${missing[*]}; install them (sudo apt-get install ${missing[*]})" >&2
      exit 2
    fi
  fi
fi

# The identity and access proofs run a real LDAPS directory (Debian's slapd, driven with ldap-utils'
# tools by demo_dpi.ldap_server) and make its certificates with openssl.
have_ldap() { command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ]; }
if ! have_ldap || ! command -v ldapadd >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing Debian's slapd, ldap-utils and openssl (LDAPS directory of the demo)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slapd ldap-utils openssl >/dev/null
  else
    echo "error: slapd/ldap-utils/openssl not found; install them (sudo apt-get install slapd ldap-utils openssl)" >&2
    exit 2
  fi
fi
