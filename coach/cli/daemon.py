"""`coach daemon`: the long-running service (schedules, control socket, buttons), its parts
wired from config.yaml."""

from __future__ import annotations

import argparse
import logging

from coach.cli.options import device_arg
from coach.daemon.app import run_daemon
from coach.daemon.buttons import GpioButton, MediaKeys
from coach.daemon.mpris import Mpris
from coach.protocol.messages import Listen
from coach.store.config import load_config, programs_dir, read_password
from coach.store.programs import ensure_programs_dir

log = logging.getLogger("coach")


def cmd_daemon(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    pdir = programs_dir(config, args.programs)
    if ensure_programs_dir(pdir):
        log.info("created the programs directory %s (copy programs from programs/)", pdir)
    buttons: list[MediaKeys | GpioButton | Mpris] = []
    if config.mpris:
        buttons.append(Mpris())  # headset buttons through BlueZ, playerctl, desktop widgets
    # Listening on: holding the play key or the button is push-to-talk (the command window,
    # where "skip" is one of the words: the GPIO hold's own skip is said there).
    talk = config.listen_hold_ms if config.listen_source is not None else None
    if config.media_keys:
        buttons.append(MediaKeys(None if config.media_keys is True else config.media_keys,
                                 hold_ms=talk))
    if config.gpio_pin is not None:
        buttons.append(GpioButton(config.gpio_pin, hold_ms=config.gpio_hold_ms)
                       if talk is None else GpioButton(config.gpio_pin, hold_ms=talk,
                                                       held=Listen()))
    mqtt = None
    if config.mqtt is not None:
        try:
            from coach.daemon.mqtt import MqttBridge  # paho-mqtt, loaded only when configured
        except ImportError as e:
            raise SystemExit(f"coach: mqtt: in {config.path} needs paho-mqtt, which is not "
                             f"installed ({e}); ./setup.sh installs it") from None
        mqtt = MqttBridge(config.mqtt, read_password(config.mqtt))
    return run_daemon(pdir, resume=args.resume, device=device_arg(args.device) or config.device,
                      tz=config.timezone, misfire_grace_s=config.misfire_grace_s,
                      rate=config.rate, blocksize=config.blocksize,
                      preroll_ms=config.preroll_ms, buttons=buttons,
                      voice_defaults=config.voice, duck_db=config.duck_db,
                      web_listen=config.web_listen,
                      web_trusted_proxies=config.web_trusted_proxies, mqtt=mqtt,
                      listen_source=config.listen_source,
                      listen_engine=config.listen_engine)
