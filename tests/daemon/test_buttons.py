"""Media keys and the GPIO button: real evdev events through the real handler, real discovery on
this machine's (absent) /dev/input and on device nodes made here, gpiozero's MockFactory pins."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import evdev
import pytest
from evdev import InputEvent, ecodes

from coach.daemon.buttons import KEYMAP, GpioButton, MediaKeys
from coach.protocol.messages import Back, Failed, Pause, Reply, Request, Resume, Skip, Status, Stop, Toggle
from tests.support.real import ROOT, need

LOGGER = "coach.daemon.buttons"
# An exception that kills a reader thread is a failure, not a warning.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")


class Recorder:
    """The daemon side: records requests, answers like Daemon.handle, signals each arrival."""

    def __init__(self, reply: Reply | None = None, fail_on: str | None = None) -> None:
        self.requests: list[Request] = []
        self.reply = reply or Status()
        self.fail_on = fail_on
        self.arrived = threading.Event()

    def __call__(self, req: Request) -> Reply:
        self.requests.append(req)
        self.arrived.set()
        if req.verb == self.fail_on:
            raise RuntimeError("handler blew up")
        return self.reply

    @property
    def cmds(self) -> list[str]:
        return [r.verb for r in self.requests]


_t = [0]


def key(code: int, value: int = 1) -> InputEvent:
    _t[0] += 1
    return InputEvent(1700000000, _t[0], ecodes.EV_KEY, code, value)


def press(code: int) -> list[InputEvent]:
    """What a headset sends for one press: down, SYN, up, SYN."""
    syn = InputEvent(1700000000, 0, ecodes.EV_SYN, ecodes.SYN_REPORT, 0)
    return [key(code, 1), syn, key(code, 0), syn]


def run_source(mk_kwargs: dict, pairs, handler) -> MediaKeys:
    """Run a MediaKeys over an injected source until the source is exhausted."""
    done = threading.Event()

    def source():
        yield from pairs
        done.set()  # runs only once the reader asked for more, i.e. after the last event

    mk = MediaKeys(source=source, **mk_kwargs)
    mk.start(handler)
    assert done.wait(10), "the source was not consumed"
    mk.close()
    return mk


def lines(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and text in r.getMessage()]


def wait_scans(mk: MediaKeys, n: int) -> None:
    deadline = time.monotonic() + 20
    while mk.scans < n:
        assert time.monotonic() < deadline, f"only {mk.scans} scans"
        time.sleep(0.005)


# --- the key map and the one handler ------------------------------------------------------------

def test_keymap():
    assert KEYMAP[ecodes.KEY_PLAYPAUSE] == KEYMAP[ecodes.KEY_PLAYCD] == Toggle()
    assert KEYMAP[ecodes.KEY_PAUSECD] == Toggle()
    assert KEYMAP[ecodes.KEY_PLAY] == Resume() and KEYMAP[ecodes.KEY_PAUSE] == Pause()
    assert KEYMAP[ecodes.KEY_NEXTSONG] == Skip() and KEYMAP[ecodes.KEY_PREVIOUSSONG] == Back()
    assert KEYMAP[ecodes.KEY_STOPCD] == Stop()
    assert len(KEYMAP) == 8


def test_source_events_become_commands_in_order():
    rec = Recorder()
    events = (press(ecodes.KEY_PLAYPAUSE) + press(ecodes.KEY_NEXTSONG)
              + [key(ecodes.KEY_PREVIOUSSONG, 1), key(ecodes.KEY_PREVIOUSSONG, 2),
                 key(ecodes.KEY_PREVIOUSSONG, 2), key(ecodes.KEY_PREVIOUSSONG, 0)]  # held: repeats
              + press(ecodes.KEY_A)  # not a media key
              + [InputEvent(1, 0, ecodes.EV_MSC, ecodes.MSC_SCAN, ecodes.KEY_PAUSE),
                 InputEvent(1, 0, ecodes.EV_REL, ecodes.REL_X, 1)]  # codes that collide, not keys
              + press(ecodes.KEY_PAUSE) + press(ecodes.KEY_PLAY) + press(ecodes.KEY_PLAYCD)
              + press(ecodes.KEY_PAUSECD) + press(ecodes.KEY_STOPCD))
    run_source({}, [("Jabra Elite (AVRCP)", iter(events))], rec)
    assert rec.cmds == ["toggle", "skip", "back", "pause", "resume", "toggle", "toggle", "stop"]


def test_device_gone_mid_stream_then_back(caplog):
    rec = Recorder()

    def vanishing():
        yield from press(ecodes.KEY_PLAYPAUSE)
        yield key(ecodes.KEY_NEXTSONG, 1)
        raise OSError(19, "No such device")  # what evdev's read() raises when BT disconnects

    caplog.set_level(logging.INFO, LOGGER)
    run_source({}, [("Headset (AVRCP)", vanishing()),
                    ("Headset (AVRCP)", iter(press(ecodes.KEY_PREVIOUSSONG)))], rec)
    assert rec.cmds == ["toggle", "skip", "back"]
    gone = lines(caplog, "gone")
    assert gone == ["media keys: Headset (AVRCP) gone (No such device)"]


def test_device_name_filter_applies_to_the_source():
    rec = Recorder()
    run_source({"device": "Jabra"},
               [("gpio-keys", iter(press(ecodes.KEY_STOPCD))),
                ("Jabra Elite 45h (AVRCP)", iter(press(ecodes.KEY_NEXTSONG)))], rec)
    assert rec.cmds == ["skip"]


def test_failing_or_refusing_handler_does_not_stop_the_keys(caplog):
    caplog.set_level(logging.INFO, LOGGER)
    rec = Recorder(reply=Failed("no session is running"), fail_on="skip")
    run_source({}, [("hs", iter(press(ecodes.KEY_NEXTSONG) + press(ecodes.KEY_PLAYPAUSE)))], rec)
    assert rec.cmds == ["skip", "toggle"]
    assert lines(caplog, "skip failed")
    assert lines(caplog, "toggle: no session is running")


def test_on_event_direct_and_before_start():
    mk = MediaKeys()
    mk.on_event(key(ecodes.KEY_PLAYPAUSE))  # no handler yet: dropped, no error
    rec = Recorder()
    mk._handler = rec  # what start() sets; the real device loop calls on_event the same way
    for ev in press(ecodes.KEY_PLAYPAUSE) + [key(ecodes.KEY_PLAYPAUSE, 2)]:
        mk.on_event(ev)
    assert rec.cmds == ["toggle"]


# --- real discovery on this machine ---------------------------------------------------------------

def test_default_dev_input_never_raises(caplog):
    caplog.set_level(logging.INFO, LOGGER)
    mk = MediaKeys(rescan_s=0.01)
    mk.start(Recorder())
    wait_scans(mk, 5)
    thread = mk._thread
    mk.close()
    assert thread is not None and not thread.is_alive()
    if not os.path.isdir("/dev/input"):  # this machine: the one line, once over 5 rescans
        assert len(lines(caplog, "/dev/input does not exist")) == 1


def test_missing_input_dir_then_appearing(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, LOGGER)
    d = tmp_path / "input"
    mk = MediaKeys(rescan_s=0.01, input_dir=str(d))
    mk.start(Recorder())
    wait_scans(mk, 5)
    d.mkdir()  # the directory appears, but holds no media-key device
    n = mk.scans
    wait_scans(mk, n + 5)
    thread = mk._thread
    mk.close()
    assert thread is not None and not thread.is_alive() and mk._thread is None
    assert len(lines(caplog, "does not exist")) == 1
    assert len(lines(caplog, "no input device with media keys")) == 1


def _mknod_ok() -> bool:
    if os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory() as t:
        try:
            os.mknod(os.path.join(t, "event0"), 0o600 | 0o020000, os.makedev(13, 64))
            return True
        except OSError:
            return False


def test_unopenable_device_node_is_ignored_once(tmp_path, caplog):
    need(_mknod_ok(), "root with CAP_MKNOD (makes a /dev/input-like event node)")
    caplog.set_level(logging.DEBUG, LOGGER)
    # evdev's own node numbers, but no driver behind them here: open() fails with ENXIO.
    os.mknod(tmp_path / "event0", 0o660 | 0o020000, os.makedev(13, 64))
    (tmp_path / "event1").write_text("")  # not a character device: never tried
    assert evdev.list_devices(str(tmp_path)) == [str(tmp_path / "event0")]
    mk = MediaKeys("Jabra", rescan_s=0.01, input_dir=str(tmp_path))
    mk.start(Recorder())
    wait_scans(mk, 5)
    mk.close()
    assert len(lines(caplog, "cannot open")) == 1  # not re-opened on every rescan
    assert lines(caplog, "no input device matching 'Jabra' with media keys") != []
    assert len(lines(caplog, "with media keys yet")) == 1


def test_permission_denied_is_one_clear_line():
    need(_mknod_ok() and Path("/usr/bin/setpriv").exists(),
         "root with CAP_MKNOD and setpriv (a user outside the input group)")
    d = tempfile.mkdtemp(prefix="coach-input-")
    try:
        os.chmod(d, 0o755)
        os.mknod(os.path.join(d, "event0"), 0o600 | 0o020000, os.makedev(13, 64))
        os.mknod(os.path.join(d, "event1"), 0o600 | 0o020000, os.makedev(13, 65))
        code = (
            "import logging, sys, time\n"
            "logging.basicConfig(level=logging.INFO, format='%(message)s')\n"
            "from coach.daemon.buttons import MediaKeys\n"
            f"mk = MediaKeys(rescan_s=0.01, input_dir={d!r})\n"
            "mk.start(lambda r: {'ok': True})\n"
            "t = time.monotonic() + 20\n"
            "while mk.scans < 5 and time.monotonic() < t: time.sleep(0.005)\n"
            "mk.close()\n"
            "print('scans', mk.scans)\n")
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                           text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    finally:
        for f in ("event0", "event1"):
            os.unlink(os.path.join(d, f))
        os.rmdir(d)
    assert p.returncode == 0, p.stderr
    assert int(p.stdout.split()[-1]) >= 5
    err = p.stderr.splitlines()
    denied = [x for x in err if "permission denied" in x]
    assert denied == [f"media keys: cannot read 2 of 2 input devices in {d} (permission denied):"
                      " add the user to the `input` group (sudo usermod -aG input $USER) and "
                      "log in again"], err
    assert len([x for x in err if "no input device with media keys" in x]) == 1


def test_evdev_missing_disables_keys(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "evdev", None)  # `import evdev` now raises ImportError
    mk = MediaKeys()
    mk.start(Recorder())
    assert mk._thread is None
    mk.close()
    assert len(lines(caplog, "evdev is not installed")) == 1


# --- the GPIO button ---------------------------------------------------------------------------

@pytest.fixture
def factory():
    from gpiozero.pins.mock import MockFactory
    f = MockFactory()
    yield f
    f.close()


def test_gpio_press_toggles(factory):
    rec = Recorder()
    b = GpioButton(17, pin_factory=factory)
    b.start(rec)
    pin = factory.pin(17)
    for _ in range(2):
        pin.drive_low()  # pulled-up input: pressed connects it to ground
        pin.drive_high()
    b.close()
    assert rec.cmds == ["toggle", "toggle"]


def test_gpio_hold_skips_without_toggle(factory):
    rec = Recorder()
    b = GpioButton(27, hold_ms=100, pin_factory=factory)
    b.start(rec)
    pin = factory.pin(27)
    pin.drive_low()
    assert rec.arrived.wait(10), "no hold event"
    pin.drive_high()  # release runs the callbacks synchronously on the mock pin
    assert rec.cmds == ["skip"]
    pin.drive_low()  # the next short press is a toggle again
    pin.drive_high()
    b.close()
    assert rec.cmds == ["skip", "toggle"]


def test_gpio_handler_failure_is_logged(factory, caplog):
    rec = Recorder(fail_on="toggle")
    b = GpioButton(22, pin_factory=factory)
    b.start(rec)
    factory.pin(22).drive_low()
    factory.pin(22).drive_high()
    factory.pin(22).drive_low()
    factory.pin(22).drive_high()
    b.close()
    assert rec.cmds == ["toggle", "toggle"]
    assert len(lines(caplog, "GPIO 22: toggle failed")) == 2


def test_gpio_no_pin_factory_is_one_line(monkeypatch, caplog):
    from gpiozero import Device
    if Path("/proc/device-tree/model").exists() and \
            "Raspberry" in Path("/proc/device-tree/model").read_text(errors="replace"):
        pytest.skip("this is a Raspberry Pi: the default pin factory works here")
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    monkeypatch.setattr(Device, "pin_factory", None)
    b = GpioButton(17)
    b.start(Recorder())  # must not raise
    assert b.button is None
    b.close()
    got = lines(caplog, "GPIO button on pin 17 disabled")
    assert len(got) == 1 and "Unable to load any default pin factory" in got[0]
    assert "Falling back from" in got[0]  # gpiozero's reasons, folded into the one line


def test_gpio_bad_or_busy_pin_is_one_line(factory, caplog):
    first = GpioButton(5, pin_factory=factory)
    first.start(Recorder())
    busy = GpioButton(5, pin_factory=factory)
    busy.start(Recorder())
    bad = GpioButton(99, pin_factory=factory)
    bad.start(Recorder())
    assert first.button is not None and busy.button is None and bad.button is None
    assert len(lines(caplog, "GPIO button on pin 5 disabled")) == 1
    assert len(lines(caplog, "GPIO button on pin 99 disabled")) == 1
    first.close()


def test_gpiozero_missing(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "gpiozero", None)
    b = GpioButton(17)
    b.start(Recorder())
    b.close()
    assert len(lines(caplog, "gpiozero is not installed")) == 1


# --- push-to-talk (listening on): holding the play key or the button ------------------------------

def timed(code: int, value: int, t: float) -> InputEvent:
    """A key event at ``t`` seconds (the kernel's event time, which the hold is measured by)."""
    return InputEvent(1700000000 + int(t), round(t % 1 * 1e6), ecodes.EV_KEY, code, value)


def hold(code: int, t: float, seconds: float) -> list[InputEvent]:
    """A press held ``seconds`` from ``t``, with the kernel's autorepeats while it is down."""
    repeats = [timed(code, 2, t + 0.25 + k * 0.033) for k in range(int((seconds - 0.25) / 0.033))]
    return [timed(code, 1, t), *repeats, timed(code, 0, t + seconds)]


def test_a_held_play_key_opens_the_command_window_and_a_tap_still_toggles():
    rec = Recorder()
    events = (hold(ecodes.KEY_PLAYPAUSE, 0.0, 0.7)  # held: push-to-talk, no toggle
              + hold(ecodes.KEY_PLAYPAUSE, 2.0, 0.15)  # a tap
              + hold(ecodes.KEY_PLAYCD, 4.0, 0.599)  # just short of the hold: a tap
              + hold(ecodes.KEY_PAUSECD, 6.0, 0.6)  # a Bluetooth headset's AVRCP key, held
              + [timed(ecodes.KEY_NEXTSONG, 1, 8.0), timed(ecodes.KEY_NEXTSONG, 0, 9.5)]
              + [timed(ecodes.KEY_PLAYPAUSE, 0, 10.0)])  # a release without its press: nothing
    run_source({"hold_ms": 600}, [("Headset (AVRCP)", iter(events))], rec)
    # the skip key acts at its press, held or not (only the play keys are push-to-talk)
    assert rec.cmds == ["listen", "toggle", "toggle", "listen", "skip"]


def test_without_listening_a_held_play_key_toggles_at_its_press():
    rec = Recorder()
    run_source({}, [("hs", iter(hold(ecodes.KEY_PLAYPAUSE, 0.0, 1.5)))], rec)
    assert rec.cmds == ["toggle"]


def test_a_held_gpio_button_opens_the_command_window_without_a_toggle(factory):
    from coach.protocol.messages import Listen
    rec = Recorder()
    b = GpioButton(5, hold_ms=100, pin_factory=factory, held=Listen())
    b.start(rec)
    pin = factory.pin(5)
    pin.drive_low()
    assert rec.arrived.wait(10), "no hold event"
    assert rec.cmds == ["listen"]  # while still held: the lifter may talk holding it
    pin.drive_high()
    assert rec.cmds == ["listen"]
    pin.drive_low()  # a short press is a toggle (or a rating tap) as before
    pin.drive_high()
    b.close()
    assert rec.cmds == ["listen", "toggle"]
