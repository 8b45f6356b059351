#!/usr/bin/env bash
# Sets coach up on a fresh Debian 12 / Raspberry Pi OS machine: system packages (when root or
# sudo is there), a virtualenv in .venv, and the package itself.
#   ./setup.sh          what coach needs to speak and play
#   ./setup.sh --test   also what the test suite needs (PulseAudio null sink, faketime, Piper...)
set -euo pipefail
cd "$(dirname "$0")"

want_test=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    *) echo "setup.sh: unknown option $arg (use --test)" >&2; exit 2 ;;
  esac
done
# libpulse0: the ducker (pulsectl) talks to PulseAudio or PipeWire's pulse server through it.

apt_pkgs=(python3 python3-venv python3-dev gcc espeak-ng libespeak-ng1 libportaudio2 libasound2-plugins alsa-utils dbus libpulse0)
if [ "$want_test" = 1 ]; then
  # pipewire pipewire-pulse wireplumber: the ducker's Server contract is also tested against a
  # private PipeWire (the Pi's sound server); they install beside pulseaudio, which stays.
  # mosquitto: the MQTT tests start their own broker on a loopback port (its service, if apt
  # starts one, is not used).
  apt_pkgs+=(pulseaudio pulseaudio-utils faketime sox sqlite3 systemd util-linux dbus playerctl
             pipewire pipewire-pulse wireplumber mosquitto mosquitto-clients
             chromium chromium-driver)  # the phone page's browser tests (tests/e2e/test_web_browser.py)
fi

missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else sudo=none; fi
  if [ "$sudo" = none ]; then
    echo "setup.sh: please install these Debian packages (no root or sudo here): ${missing[*]}" >&2
  else
    echo "setup.sh: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

py=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
# setuptools' "Editable installation" notice (a 10-line box: a folder named like the package in
# the working directory may shadow it) is about importing from elsewhere; coach's clone is that
# folder. Only that message is filtered: deprecations and every other warning still show.
QUIET_NOTICE="ignore:Editable installation"
pip_install() {
  # pip's own warnings about this machine's local indexes are noise; its failures are not.
  local log; log=$(mktemp)
  if ! PYTHONWARNINGS="$QUIET_NOTICE" .venv/bin/python -m pip install -q "$@" >"$log" 2>&1; then
    grep -v "^WARNING: Location" "$log" >&2; rm -f "$log"
    echo "setup.sh: pip install $* failed" >&2; exit 1
  fi
  grep -v "^WARNING: Location" "$log" || true; rm -f "$log"
}
pip_install --upgrade pip
# Media keys and the GPIO button are off unless configured, but cheap to have ready.
# Spoken ratings (`listen:` in config.yaml) need the listen extra: `.venv/bin/pip install -e .[listen]`
# (PocketSphinx, Silero VAD, and Moonshine tiny for `listen: {engine: moonshine}`).
if [ "$want_test" = 1 ]; then extras=".[test,buttons,piper,listen]"; else extras=".[buttons]"; fi
pip_install -e "$extras"
.venv/bin/python -c "import coach" || { echo "setup.sh: installing coach into .venv failed" >&2; exit 1; }
echo "setup.sh: ready (.venv/bin/coach)"
