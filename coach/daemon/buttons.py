"""Hardware controls for the headless daemon: headphone media keys (evdev) and a GPIO push-button
(gpiozero). Both turn presses into typed requests (Toggle(), Skip(), ...) for Daemon.handle; with
listening on (config `listen:`), holding the play key or the button is push-to-talk: Listen()."""

from __future__ import annotations

import errno
import glob
import logging
import os
import select
import stat
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from coach.protocol.messages import (
    Back,
    Failed,
    Listen,
    Pause,
    Reply,
    Request,
    Resume,
    Skip,
    Stop,
    Toggle,
)

ecodes: Any
try:
    from evdev import ecodes
except ImportError:  # keys are simply disabled; start() says so once
    ecodes = None

log = logging.getLogger(__name__)

Handler = Callable[[Request], Reply]
INPUT_DIR = "/dev/input"
JOIN_S = 5.0  # close() waits this long for a reader thread

# Headsets differ: wired remotes send PLAYPAUSE, Bluetooth AVRCP sends PLAYCD/PAUSECD or PLAY/PAUSE.
KEYMAP: dict[int, Request] = {} if ecodes is None else {
    ecodes.KEY_PLAYPAUSE: Toggle(),
    ecodes.KEY_PLAYCD: Toggle(),
    ecodes.KEY_PAUSECD: Toggle(),
    ecodes.KEY_PLAY: Resume(),
    ecodes.KEY_PAUSE: Pause(),
    ecodes.KEY_NEXTSONG: Skip(),
    ecodes.KEY_PREVIOUSSONG: Back(),
    ecodes.KEY_STOPCD: Stop(),
}


def _call(handler: Handler | None, req: Request, where: str) -> None:
    """Send one request; a failing handler is logged, never allowed to kill the button thread."""
    if handler is None:
        log.debug("%s: %s before start(), dropped", where, req.verb)
        return
    try:
        reply = handler(req)
    except Exception:
        log.exception("%s: %s failed", where, req.verb)
        return
    if isinstance(reply, Failed):
        log.info("%s: %s: %s", where, req.verb, reply.error)
    else:
        log.info("%s: %s", where, req.verb)


class MediaKeys:
    """Media keys of any input device (or the one named by `device`), which may come and go.

    `source`, when given, replaces discovery and reading: it yields (device name, events) pairs,
    and an OSError from an event iterable means that device vanished (like ENODEV on a real read).
    """

    def __init__(self, device: str | None = None, *,
                 source: Callable[[], Iterable[tuple[str, Iterable[Any]]]] | None = None,
                 rescan_s: float = 2.0, input_dir: str = INPUT_DIR,
                 hold_ms: int | None = None) -> None:
        self.device = device
        # push-to-talk: a play key held this long is Listen() (None: listening is off, the
        # key acts at its press as it always did)
        self.hold_ms = hold_ms
        self._down: dict[int, int] = {}  # play keys pressed, not yet released: when (µs)
        self.rescan_s = rescan_s
        self.input_dir = input_dir
        self.scans = 0  # completed discovery passes (for status and tests)
        self._source = source
        self._handler: Handler | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake: tuple[int, int] | None = None
        self._said: set[str] = set()
        self._ignored: dict[str, tuple[int, int]] = {}  # path -> (inode, ctime) of a non-match

    # --- the one event handler ----------------------------------------------------------------

    def on_event(self, event: Any, where: str = "media key") -> None:
        """Key-down of a mapped key -> one request; key-up (0), repeat (2) and other events
        are ignored (a held key must not fire skip ten times). With push-to-talk, a play key
        acts at its release: Listen() after a hold of ``hold_ms``, else Toggle()."""
        if ecodes is None or event.type != ecodes.EV_KEY:
            return
        req = KEYMAP.get(event.code)
        if req is None:
            return
        if self.hold_ms is None or not isinstance(req, Toggle):
            if event.value == 1:
                _call(self._handler, req, where)
            return
        # Decided at the release, by the kernel's event times (no timer, no thread): the key
        # of a wired headset shorts its mic while pressed, so the window opens when it is let
        # go; a Bluetooth headset sends its AVRCP press and release as they happen.
        at_us = event.sec * 1_000_000 + event.usec  # whole µs: 0.6 s is 0.6 s, not 0.5999
        if event.value == 1:
            self._down[event.code] = at_us
        elif event.value == 0 and (down := self._down.pop(event.code, None)) is not None:
            if at_us - down >= self.hold_ms * 1000:
                _call(self._handler, Listen(), f"{where} held")
            else:
                _call(self._handler, Toggle(), where)

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, handler: Handler) -> None:
        """Start the background reader; missing hardware or evdev is logged, never raised."""
        self._handler = handler
        if self._source is not None:
            target = self._run_source
        else:
            try:
                import evdev  # noqa: F401  (the reader needs it; KEYMAP alone is not enough)
            except ImportError:
                log.warning("media keys disabled: the Python package evdev is not installed "
                            "(pip install evdev)")
                return
            if ecodes is None:  # evdev appeared after this module was imported
                log.warning("media keys disabled: evdev could not be imported at startup")
                return
            self._wake = os.pipe()
            target = self._run_devices
        self._stop.clear()
        self._thread = threading.Thread(target=target, name="coach-media-keys", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._wake is not None:
            try:
                os.write(self._wake[1], b"x")
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(JOIN_S)
            if self._thread.is_alive():
                log.warning("media keys: reader thread did not stop within %.0f s", JOIN_S)
            self._thread = None
        if self._wake is not None:
            for fd in self._wake:
                os.close(fd)
            self._wake = None

    # --- injected source ----------------------------------------------------------------------

    def _run_source(self) -> None:
        assert self._source is not None
        try:
            self._consume(self._source())
        except Exception:
            log.exception("media keys: the event source failed")

    def _consume(self, pairs: Iterable[tuple[str, Iterable[Any]]]) -> None:
        for name, events in pairs:
            if self._stop.is_set():
                return
            if not self._matches(name, None):
                continue
            log.info("media keys: using %s", name)
            try:
                for ev in events:
                    if self._stop.is_set():
                        return
                    self.on_event(ev, name)
            except OSError as e:
                log.info("media keys: %s gone (%s)", name, e.strerror or e)

    # --- real devices -------------------------------------------------------------------------

    def _say_once(self, key: str, level: int, msg: str, *args: Any) -> None:
        # A rescan every 2 s must not repeat the same complaint forever.
        if key not in self._said:
            self._said.add(key)
            log.log(level, msg, *args)

    def _matches(self, name: str, path: str | None) -> bool:
        d = self.device
        # A path may be a stable /dev/input/by-id/... symlink to the eventN node.
        return d is None or d in name or (
            path is not None and os.path.realpath(d) == os.path.realpath(path))

    def _run_devices(self) -> None:
        devices: dict[str, Any] = {}
        assert self._wake is not None
        next_scan = 0.0
        try:
            while not self._stop.is_set():
                if time.monotonic() >= next_scan:
                    try:
                        self._rescan(devices)
                    except Exception:  # a bug or odd device must not end the keys for good
                        if "rescan" not in self._said:
                            self._said.add("rescan")
                            log.exception("media keys: rescan failed")
                    self.scans += 1
                    next_scan = time.monotonic() + self.rescan_s
                timeout = max(0.0, next_scan - time.monotonic())
                try:
                    ready, _, _ = select.select([*devices.values(), self._wake[0]], [], [],
                                                timeout)
                except (OSError, ValueError):
                    self._drop_dead(devices)
                    continue
                for dev in ready:
                    if dev is self._wake[0]:
                        continue
                    self._read(dev, devices)
        finally:
            for dev in devices.values():
                self._close_dev(dev)

    def _read(self, dev: Any, devices: dict[str, Any]) -> None:
        try:
            for ev in dev.read():
                self.on_event(ev, dev.name)
        except BlockingIOError:
            pass
        except OSError as e:
            # ENODEV: the headset disconnected. It is picked up again by a later rescan.
            reason = "disconnected" if e.errno == errno.ENODEV else (e.strerror or str(e))
            log.info("media keys: %s (%s) gone: %s", dev.name, dev.path, reason)
            devices.pop(dev.path, None)
            self._close_dev(dev)

    def _drop_dead(self, devices: dict[str, Any]) -> None:
        for path, dev in list(devices.items()):
            try:
                os.fstat(dev.fileno())
            except (OSError, ValueError):
                log.info("media keys: %s (%s) gone", dev.name, path)
                del devices[path]

    @staticmethod
    def _close_dev(dev: Any) -> None:
        try:
            dev.close()
        except OSError:
            pass

    def _rescan(self, devices: dict[str, Any]) -> None:
        import evdev
        if not os.path.isdir(self.input_dir):
            self._say_once("nodir", logging.WARNING, "media keys: %s does not exist (no input "
                           "devices on this machine); waiting for it", self.input_dir)
            return
        every = []
        for path in sorted(glob.glob(os.path.join(self.input_dir, "event*"))):
            try:
                if stat.S_ISCHR(os.stat(path).st_mode):
                    every.append(path)
            except OSError:
                pass
        try:
            readable = set(evdev.list_devices(self.input_dir, writable=False))
        except TypeError:  # evdev < 1.9 has no `writable`
            readable = set(evdev.list_devices(self.input_dir))
        denied = [p for p in every if p not in readable]
        if denied:
            self._say_once("denied", logging.WARNING, "media keys: cannot read %d of %d input "
                           "devices in %s (permission denied): add the user to the `input` "
                           "group (sudo usermod -aG input $USER) and log in again",
                           len(denied), len(every), self.input_dir)
        for path in sorted(readable):
            if path in devices:
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue
            ident = (st.st_ino, st.st_ctime_ns)  # a reused eventN is a new device
            if self._ignored.get(path) == ident:
                continue
            try:
                dev = evdev.InputDevice(path)
            except PermissionError:
                self._say_once("denied", logging.WARNING, "media keys: cannot open %s "
                               "(permission denied): add the user to the `input` group "
                               "(sudo usermod -aG input $USER) and log in again", path)
                self._ignored[path] = ident
                continue
            except OSError as e:
                log.debug("media keys: cannot open %s: %s", path, e.strerror or e)
                self._ignored[path] = ident
                continue
            try:
                keys = set(dev.capabilities().get(ecodes.EV_KEY, ()))
            except OSError:  # gone between open and the capability query
                self._close_dev(dev)
                continue
            if keys.isdisjoint(KEYMAP) or not self._matches(dev.name, path):
                self._ignored[path] = ident
                self._close_dev(dev)
                continue
            self._ignored.pop(path, None)
            devices[path] = dev
            log.info("media keys: using %s (%s)", dev.name, path)
        if not devices:
            which = f" matching {self.device!r}" if self.device else ""
            self._say_once("nomatch", logging.INFO, "media keys: no input device%s with media "
                           "keys yet; waiting for one (a Bluetooth headset shows up as an "
                           "AVRCP device when it connects)", which)


class GpioButton:
    """A push-button between a GPIO pin and ground: a short press toggles pause, holding it for
    hold_ms sends ``held`` (Skip(); with listening on, Listen(): push-to-talk) and does not
    also toggle on release. The hold acts while the button is still held: the mic is elsewhere,
    so a lifter may talk while holding it (or let go and talk: the window stays open)."""

    def __init__(self, pin: int, *, hold_ms: int = 1000, pin_factory: Any = None,
                 bounce_ms: int | None = 30, held: Request | None = None) -> None:
        self.pin = pin
        self.hold_ms = hold_ms
        self.held: Request = held if held is not None else Skip()
        self.bounce_ms = bounce_ms
        self.pin_factory = pin_factory
        self.button: Any = None
        self._handler: Handler | None = None
        self._lock = threading.Lock()
        self._held = False

    def start(self, handler: Handler) -> None:
        """Claim the pin; a missing gpiozero, no GPIO or a busy pin is logged, never raised."""
        self._handler = handler
        try:
            import gpiozero
        except ImportError:
            log.warning("GPIO button disabled: the Python package gpiozero is not installed")
            return
        with warnings.catch_warnings(record=True) as caught:
            # gpiozero warns once per pin library it falls back from; fold those into our line.
            warnings.simplefilter("always")
            try:
                self.button = gpiozero.Button(
                    self.pin, hold_time=self.hold_ms / 1000,
                    bounce_time=None if self.bounce_ms is None else self.bounce_ms / 1000,
                    pin_factory=self.pin_factory)
            except (gpiozero.GPIOZeroError, OSError, ValueError) as e:
                why = "; ".join(str(w.message) for w in caught)
                log.warning("GPIO button on pin %s disabled: %s%s", self.pin, e,
                            f" ({why})" if why else "")
                self.button = None
                return
        self.button.when_pressed = self._pressed
        self.button.when_held = self._on_hold
        self.button.when_released = self._released
        log.info("GPIO button on pin %s (hold %d ms to %s)", self.pin, self.hold_ms,
                 "talk" if isinstance(self.held, Listen) else self.held.verb)

    def _pressed(self) -> None:
        with self._lock:
            self._held = False

    def _on_hold(self) -> None:
        with self._lock:
            self._held = True
        _call(self._handler, self.held, f"GPIO {self.pin} held")

    def _released(self) -> None:
        with self._lock:
            held, self._held = self._held, False
        if not held:
            _call(self._handler, Toggle(), f"GPIO {self.pin}")

    def close(self) -> None:
        if self.button is not None:
            self.button.close()
            self.button = None
