"""`coach install-service`: the systemd user unit that runs `coach daemon` (apart from the daemon
verb's module, so writing the unit loads none of the daemon's parts)."""

from __future__ import annotations

import argparse

from coach.daemon.service import default_coach_bin, install_service


def cmd_install_service(args: argparse.Namespace) -> int:
    installed = install_service(default_coach_bin())
    print(installed.text)
    return 0
