"""The headless daemon: holds the player, the schedules, the control socket and the history.

Control, schedules and history move the player's position; they never reach into the mixer.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from coach.core.errors import CoachError
from coach.core.phrases import fill, phrase_table, say_number
from coach.core.program import Program, VoiceSettings, load_program
from coach.core.timeline import Cue, Timeline, compile_program, locate

log = logging.getLogger(__name__)

TICK_S = 0.1  # main loop period: history bookkeeping, end of session, watchdog
RESCAN_S = 2.0  # how often the programs directory is looked at for changes
BACK_GRACE_MS = 3000  # `back` within this much of a set's start goes to the previous set
EXTEND_MS = 30_000
RECONNECT_S = 2.0
CLOCK_STEP_S = 2.0  # a wall-clock jump larger than this between two ticks is a step  # how often a lost audio output is tried again


@dataclass
class Loaded:
    """A program file as last seen: its good version (if any) and its last error."""

    path: Path
    mtime_ns: int
    program: Program | None = None
    timeline: Timeline | None = None
    error: str | None = None


@dataclass
class Session:
    name: str
    path: Path
    program: Program
    timeline: Timeline
    mixer: Any
    player: Any
    session_id: int | None
    set_index: int | None = None
    set_row: int | None = None
    set_reached_work_end: bool = False
    started: float = field(default_factory=time.monotonic)
    last_position_saved: float = 0.0
    lost_at_ms: int | None = None  # the audio output died here; the session waits to resume
    next_retry: float = 0.0


def cue_start_at_or_before(timeline: Timeline, t_ms: int) -> int:
    """The start of the cue playing (or last played) at ``t_ms``: where a cut-off session goes
    on, so that no word is lost."""
    best = 0
    for c in timeline.cues:
        if c.t_ms > t_ms:
            break
        best = c.t_ms
    return best


def now() -> datetime:
    return datetime.now(timezone.utc)


class Daemon:
    def __init__(self, programs_dir: Path, *, history=None, device: str | int | None = None,
                 rate: int = 48000, tz: str | None = None, misfire_grace_s: int = 600,
                 player_factory: Callable[[], Any] | None = None,
                 voice_cache: Path | None = None, blocksize: int = 1024,
                 preroll_ms: int = 500, voice_defaults: VoiceSettings | None = None) -> None:
        self.programs_dir = Path(programs_dir)
        self.history = history
        self.device = device
        self.rate = rate
        self.tz = tz
        self.misfire_grace_s = misfire_grace_s
        self.voice_cache = voice_cache
        self.blocksize = blocksize
        self.preroll_ms = preroll_ms
        self.voice_defaults = voice_defaults  # config.yaml's `voice:`, under each program's own
        self._player_factory = player_factory or self._default_player
        self.programs: dict[str, Loaded] = {}
        self.session: Session | None = None
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.scheduler = None
        self.interrupted = history.interrupted() if history is not None else None
        self._fired: set[tuple[str, str]] = set()
        self._dir_error: str | None = None
        # Programs whose clips are synthesized ahead, so that a start (scheduled, or from a
        # headset button) plays at once instead of waiting for the voice.
        self._warm_queue: deque[tuple[str, Timeline]] = deque()
        self._warm_wake = threading.Event()
        self._warmer: threading.Thread | None = None

    # --- programs -------------------------------------------------------------------------

    def scan(self) -> list[str]:
        """Load new and changed program files; keep the last good version of a broken one.
        Returns the stems whose schedules may have changed."""
        changed: list[str] = []
        try:
            files = sorted(p for p in self.programs_dir.iterdir()
                           if p.suffix in (".yaml", ".yml") and not p.name.startswith("."))
        except OSError as e:
            message = f"{self.programs_dir}: cannot read the programs directory: {e.strerror or e}"
            if message != self._dir_error:  # once, not at every rescan
                log.error("%s", message)
                self._dir_error = message
            return changed
        if self._dir_error is not None:
            log.info("%s: readable again", self.programs_dir)
            self._dir_error = None
        seen = set()
        for path in files:
            stem = path.stem
            seen.add(stem)
            try:
                mtime = path.stat().st_mtime_ns
            except OSError:
                continue
            old = self.programs.get(stem)
            if old is not None and old.mtime_ns == mtime and old.path == path:
                continue
            entry = old or Loaded(path, mtime)
            entry.path, entry.mtime_ns = path, mtime
            try:
                program = self._load_program(path)
                entry.program, entry.timeline = program, compile_program(program)
                entry.error = None
                log.info("%s: loaded %r%s", path, program.name, " (reloaded)" if old else "")
                self._warm_queue.append((stem, entry.timeline))
                self._warm_wake.set()
            except CoachError as e:
                entry.error = str(e)
                for line in str(e).splitlines():
                    log.error("%s", line)
                if entry.program is not None:
                    log.warning("%s: keeping the last good version of %r", path, entry.program.name)
            self.programs[stem] = entry
            changed.append(stem)
        for stem in list(self.programs):
            if stem not in seen:
                # A deleted file stops being offered; a running session of it plays on.
                log.info("%s: removed", self.programs[stem].path)
                del self.programs[stem]
                changed.append(stem)
        return changed

    def _load_program(self, path: Path) -> Program:
        from coach.daemon.config import with_voice_defaults
        return with_voice_defaults(load_program(path), self.voice_defaults)

    def resolve(self, name: str) -> tuple[str, Path, Program, Timeline]:
        entry = self.programs.get(name)
        if entry is None and (os.sep in name or name.endswith((".yaml", ".yml"))):
            path = Path(name)
            program = self._load_program(path)
            return path.stem, path.resolve(), program, compile_program(program)
        if entry is None:
            known = ", ".join(sorted(self.programs)) or "none"
            raise LookupError(f"no program {name!r} in {self.programs_dir} (known: {known})")
        if entry.program is None or entry.timeline is None:
            raise LookupError(f"program {name!r} does not load: {entry.error}")
        return name, entry.path, entry.program, entry.timeline

    # --- schedules ------------------------------------------------------------------------

    def start_scheduler(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler
        # coalesce: a Pi that was off at 07:00 starts at most one session when it comes back;
        # misfire grace: a session still starts if the Pi woke up (or NTP stepped the clock)
        # within the grace, never hours late.
        self.scheduler = BackgroundScheduler(
            timezone=self.tz or None,
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": self.misfire_grace_s})
        self.scheduler.start()
        self.reschedule(list(self.programs))

    def reschedule(self, stems: list[str]) -> None:
        if self.scheduler is None:
            return
        from apscheduler.triggers.cron import CronTrigger
        days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        for job in self.scheduler.get_jobs():
            if job.id.split("#", 1)[0] in stems:
                job.remove()
        for stem in stems:
            entry = self.programs.get(stem)
            if entry is None or entry.program is None:
                continue
            for i, s in enumerate(entry.program.schedules):
                trigger = CronTrigger(day_of_week=",".join(days[d] for d in s.days),
                                      hour=s.hour, minute=s.minute, timezone=self.tz or None)
                job = self.scheduler.add_job(self._scheduled_start, trigger, args=[stem],
                                             id=f"{stem}#{i}", replace_existing=True)
                log.info("%s: scheduled %s (next %s)", stem, s.text, job.next_run_time)

    def _scheduled_start(self, stem: str, slot: str | None = None) -> None:
        # The same slot never starts twice, even if the wall clock is stepped back over it.
        slot = slot or datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
        if (stem, slot) in self._fired:
            log.warning("schedule: %s at %s already started once; not again", stem, slot)
            return
        self._fired.add((stem, slot))
        log.info("schedule: starting %s", stem)
        reply = self.handle({"cmd": "start", "program": stem})
        if not reply.get("ok"):
            log.warning("schedule: %s not started: %s", stem, reply.get("error"))

    def clock_stepped(self, step_s: float) -> None:
        """The wall clock jumped (NTP on a Pi without RTC). Cues run on the audio clock and do
        not move; the scheduler, which sleeps until its next wall-clock time, must look again."""
        log.warning("the wall clock stepped by %+.1f s; sessions play on, schedules re-checked",
                    step_s)
        if self.scheduler is not None:
            self.scheduler.wakeup()

    def next_scheduled(self) -> str | None:
        if self.scheduler is None:
            return None
        jobs = [j for j in self.scheduler.get_jobs() if j.next_run_time is not None]
        if not jobs:
            return None
        j = min(jobs, key=lambda j: j.next_run_time)
        return f"{j.id.split('#', 1)[0]} at {j.next_run_time.isoformat(timespec='minutes')}"

    # --- the player -----------------------------------------------------------------------

    def _default_player(self):
        from coach.audio.player import Player
        return Player(device=self.device, rate=self.rate, blocksize=self.blocksize,
                      preroll_ms=self.preroll_ms)

    def _clips(self, timeline: Timeline):
        from coach.audio.voice import prepare_timeline
        return prepare_timeline(timeline, rate=self.rate, cache_dir=self.voice_cache)

    def _mixer(self, timeline: Timeline):
        from coach.core.mixer import Mixer
        from coach.audio.voice import tick_clip
        return Mixer(timeline, self._clips(timeline), rate=self.rate, tick=tick_clip(self.rate))

    def _spoken(self, session: Session, parts: list[tuple[int, str]], tail_ms: int):
        """Render a few words (offset ms, text) through the same voice and mixer as a session,
        for inserts such as "resuming… 3, 2, 1" and "30 more seconds"."""
        cues = tuple(Cue(t, text, "insert", "", 0, 1, None) for t, text in parts)
        tl = Timeline("insert", parts[-1][0] + tail_ms, cues, session.timeline.voice,
                      session.timeline.language)
        mixer = self._mixer(tl)
        return mixer.render(0, mixer.total_frames)

    def frame_ms(self, frame: int) -> int:
        return frame * 1000 // self.rate

    def position_ms(self) -> int:
        s = self.session
        if s is None:
            return 0
        if s.lost_at_ms is not None:
            return s.lost_at_ms
        return self.frame_ms(s.player.position)

    def start(self, name: str, force: bool = False, at_ms: int = 0,
              resume_of: int | None = None) -> dict:
        if self.session is not None and not force:
            return {"ok": False, "error": f"a session of {self.session.name!r} is running; "
                    "stop it first or use --force"}
        # Everything that can fail comes before the running session is stopped.
        stem, path, program, timeline = self.resolve(name)
        mixer = self._mixer(timeline)
        if self.session is not None:
            self.stop_session("stopped")
        player = self._player_factory()
        try:
            player.play(mixer, start_frame=at_ms * self.rate // 1000)
        except Exception as e:  # NoOutputDevice, PortAudioError
            player.stop()
            log.error("cannot start %s: %s", program.name, e)
            return {"ok": False, "error": str(e)}
        session_id = None
        if self.history is not None:
            session_id = self.history.start_session(program.name, str(path), now())
        s = Session(stem, path, program, timeline, mixer, player, session_id)
        self.session = s
        log.info("session: %s from %.3f s", program.name, at_ms / 1000)
        self._track(s, at_ms)
        return self.status()

    def stop_session(self, status: str) -> None:
        s = self.session
        if s is None:
            return
        self.session = None
        try:
            s.player.stop()
        finally:
            if self.history is not None and s.session_id is not None:
                self._end_set(s, "completed" if status == "completed" else
                              ("skipped" if status == "stopped" else status))
                self.history.update_position(s.session_id, self.frame_ms(s.player.position))
                self.history.end_session(s.session_id, status, now())
        log.info("session: %s %s", s.program.name, status)

    def _end_set(self, s: Session, status: str) -> None:
        if s.set_row is not None and self.history is not None:
            if status in ("skipped", "stopped") and s.set_reached_work_end:
                status = "completed"
            self.history.end_set(s.set_row, status, now())
        s.set_row = None

    def _track(self, s: Session, pos_ms: int, why: str = "") -> None:
        """Keep history's current set in step with the position."""
        idx, _ = locate(s.timeline, pos_ms)
        if idx is not None and idx == s.set_index:
            span = s.timeline.sets[idx]
            if pos_ms >= span.work_end_ms:
                s.set_reached_work_end = True
            return
        if s.set_index is not None:
            self._end_set(s, "skipped" if why in ("skip", "back") else "completed")
        s.set_index = idx
        s.set_reached_work_end = False
        if idx is not None and self.history is not None and s.session_id is not None:
            span = s.timeline.sets[idx]
            ex = s.program.exercises[span.exercise_index]
            sides = "both" if len(ex.sides) > 1 else None
            s.set_row = self.history.start_set(s.session_id, span.exercise, span.exercise_index,
                                               span.set, span.sets, sides, span.start_ms, now())

    def tick(self) -> None:
        """Called by the main loop: end of session, history, position."""
        with self.lock:
            s = self.session
            if s is None:
                return
            if s.player.lost.is_set():
                self._recover(s)
                return
            if s.player.state == "idle" or s.player.position >= s.mixer.total_frames:
                if s.player.wait(0):
                    self.stop_session("completed")
                    return
            pos = self.frame_ms(s.player.position)
            self._track(s, pos)
            if self.history is not None and s.session_id is not None and \
                    time.monotonic() - s.last_position_saved > 1.0:
                self.history.update_position(s.session_id, pos)
                s.last_position_saved = time.monotonic()

    def _recover(self, s: Session, now_: float | None = None) -> None:
        """The audio output died (server restarted, headset gone): hold the session where it
        was, try a new stream every RECONNECT_S, and go on from the cue that was cut."""
        t = time.monotonic() if now_ is None else now_
        if s.lost_at_ms is None:
            s.lost_at_ms = self.frame_ms(s.player.position)
            s.next_retry = t + RECONNECT_S
            log.warning("audio output lost at %.1f s of %s; the session waits and retries every "
                        "%g s", s.lost_at_ms / 1000, s.program.name, RECONNECT_S)
            if self.history is not None and s.session_id is not None:
                self.history.update_position(s.session_id, s.lost_at_ms)
            s.player.stop()
            return
        if t < s.next_retry:
            return
        s.next_retry = t + RECONNECT_S
        target = cue_start_at_or_before(s.timeline, s.lost_at_ms)
        player = self._player_factory()
        try:
            player.play(s.mixer, start_frame=target * self.rate // 1000,
                        insert=self._resume_insert(s, target))
        except Exception as e:  # NoOutputDevice, PortAudioError: still gone
            log.debug("audio output still unavailable: %s", e)
            player.stop()
            return
        log.info("audio output back: resuming %s at %.1f s", s.program.name, target / 1000)
        s.player, s.lost_at_ms = player, None

    # --- control --------------------------------------------------------------------------

    def status(self) -> dict:
        s = self.session
        out: dict[str, Any] = {"ok": True, "state": "idle", "program": None, "exercise": None,
                               "set": None, "sets": None, "side": None, "phase": None,
                               "rep": None, "position": 0.0, "next": None}
        if s is None:
            out["next"] = self.next_scheduled()
            if self.interrupted is not None:
                i = self.interrupted
                out["interrupted"] = {"program": i.program, "path": i.program_path,
                                      "exercise_index": i.exercise_index, "set": i.set_no,
                                      "hint": "coach daemon --resume restarts it at that set"}
            return out
        pos = self.position_ms()
        idx, phase = locate(s.timeline, pos)
        state = "paused" if s.lost_at_ms is not None else s.player.state
        if s.lost_at_ms is not None:
            out["reason"] = "audio output lost; retrying"
        out.update(state=state, program=s.program.name, position=round(pos / 1000, 3),
                   duration=round(s.timeline.duration_ms / 1000, 3))
        if idx is not None:
            span = s.timeline.sets[idx]
            out.update(exercise=span.exercise, set=span.set, sets=span.sets)
            nxt = s.timeline.sets[idx + 1] if idx + 1 < len(s.timeline.sets) else None
            out["next"] = (f"{nxt.exercise}, set {nxt.set} of {nxt.sets}" if nxt else "done")
        if phase is not None:
            out.update(phase=phase.phase, rep=phase.rep, side=phase.side)
            if phase.pose:
                out["pose"] = phase.pose
        return out

    def handle(self, req: dict) -> dict:
        cmd = req.get("cmd")
        try:
            with self.lock:
                return self._dispatch(cmd, req)
        except CoachError as e:
            return {"ok": False, "error": str(e)}
        except LookupError as e:
            return {"ok": False, "error": e.args[0] if e.args else str(e)}

    def _dispatch(self, cmd: Any, req: dict) -> dict:
        s = self.session
        if cmd == "ping":
            return {"ok": True, "pid": os.getpid()}
        if cmd == "status":
            return self.status()
        if cmd == "start":
            name = req.get("program")
            if not isinstance(name, str) or not name:
                return {"ok": False, "error": "start needs a program name or path"}
            return self.start(name, force=bool(req.get("force")))
        if cmd == "reload":
            changed = self.scan()
            self.reschedule(changed)
            errors = {k: v.error for k, v in self.programs.items() if v.error}
            return {"ok": True, "programs": sorted(self.programs), "changed": changed,
                    "errors": errors}
        if cmd == "programs":
            return {"ok": True, "programs": {k: {"name": v.program.name if v.program else None,
                                                 "path": str(v.path), "error": v.error}
                                             for k, v in sorted(self.programs.items())}}
        if s is None:
            if cmd in ("pause", "resume", "skip", "back", "extend", "stop", "toggle"):
                return {"ok": False, "error": "no session is running"}
            return {"ok": False, "error": f"unknown command {cmd!r}"}
        if s.lost_at_ms is not None and cmd in ("pause", "resume", "toggle", "extend"):
            if cmd in ("resume", "toggle"):
                s.next_retry = 0.0  # try the output again now
                self._recover(s)
            return self.status()
        if cmd == "toggle":  # a headset's play/pause key
            cmd = "resume" if s.player.state == "paused" else "pause"
        if cmd == "pause":
            if s.player.state != "paused":
                s.player.pause()
            return self.status()
        if cmd == "resume":
            if s.player.state == "paused":
                s.player.resume(insert=self._resume_insert(s))
            return self.status()
        if cmd == "stop":
            self.stop_session("stopped")
            return {"ok": True, "state": "idle"}
        if cmd == "skip":
            return self._seek(s, self._skip_target(s), "skip")
        if cmd == "back":
            return self._seek(s, self._back_target(s), "back")
        if cmd == "extend":
            _, phase = locate(s.timeline, self.position_ms())
            if phase is None or phase.phase != "rest":
                return {"ok": False, "error": "extend works during a rest"}
            words = phrase_table(s.timeline.language, s.program.words)
            insert = self._spoken(s, [(0, fill(words, "extended", s.timeline.language, seconds=EXTEND_MS // 1000))],
                                  EXTEND_MS)
            paused = s.player.state == "paused"
            if not paused:
                s.player.pause()
            s.player.resume(insert=insert)
            return self.status()
        return {"ok": False, "error": f"unknown command {cmd!r}"}

    def _skip_target(self, s: Session) -> int:
        pos = self.position_ms()
        idx, phase = locate(s.timeline, pos)
        if idx is None:
            return s.timeline.sets[0].start_ms if s.timeline.sets else pos
        span = s.timeline.sets[idx]
        if pos < span.work_end_ms and span.end_ms > span.work_end_ms:
            return span.work_end_ms  # to the rest
        return span.end_ms  # to the next set (or the end)

    def _back_target(self, s: Session) -> int:
        pos = self.position_ms()
        idx, _ = locate(s.timeline, pos)
        if idx is None:
            return 0
        span = s.timeline.sets[idx]
        if pos - span.start_ms < BACK_GRACE_MS and idx > 0:
            return s.timeline.sets[idx - 1].start_ms
        return span.start_ms

    def _seek(self, s: Session, target_ms: int, why: str) -> dict:
        target_ms = min(target_ms, s.timeline.duration_ms)
        if s.lost_at_ms is not None:
            s.lost_at_ms = target_ms  # where the session goes on once the output is back
        else:
            s.player.seek(target_ms * self.rate // 1000)
        self._track(s, target_ms, why)
        return self.status()

    def _resume_insert(self, s: Session, pos: int | None = None):
        pos = self.position_ms() if pos is None else pos
        idx, _ = locate(s.timeline, pos)
        words = phrase_table(s.timeline.language, s.program.words)
        text = words["resuming"]
        if idx is not None:
            span = s.timeline.sets[idx]
            text += f". {span.exercise}, " + fill(words, "set_of", s.timeline.language, n=span.set, total=span.sets)
        from coach.core.timeline import estimate_speech_ms
        lead = -(-(estimate_speech_ms(text, s.timeline.voice.rate) + 300) // 1000) * 1000
        lang = s.timeline.language
        parts = [(0, text), (lead, say_number(3, lang)), (lead + 1000, say_number(2, lang)),
                 (lead + 2000, say_number(1, lang))]
        return self._spoken(s, parts, 1000)

    # --- lifecycle ------------------------------------------------------------------------

    def resume_interrupted(self) -> dict:
        i = self.interrupted
        if i is None:
            return {"ok": False, "error": "no interrupted session"}
        stem = Path(i.program_path).stem
        name = stem if stem in self.programs else i.program_path
        if self.history is not None:
            self.history.mark_interrupted(i.session_id, now())
        self.interrupted = None
        at = i.start_ms if i.start_ms is not None else i.position_ms
        log.info("resuming interrupted session %s at %.1f s", i.program, at / 1000)
        with self.lock:
            return self.start(name, at_ms=at)

    def start_warming(self) -> None:
        """One background worker synthesizes every loaded program's clips into the cache."""
        self._warmer = threading.Thread(target=self._warm_loop, name="coach-voice-warmer",
                                        daemon=True)
        self._warmer.start()

    def _warm_loop(self) -> None:
        while not self.stopping.is_set():
            # Never while a session plays: synthesis (Piper uses every core) could starve it.
            if self.session is not None:
                self._warm_wake.wait(1.0)
                continue
            try:
                stem, timeline = self._warm_queue.popleft()
            except IndexError:
                self._warm_wake.wait(1.0)
                self._warm_wake.clear()
                continue
            try:
                self._clips(timeline)
                log.debug("%s: voice clips ready", stem)
            except Exception as e:  # the start will say it again, where someone sees it
                log.warning("%s: could not prepare the voice clips ahead: %s", stem, e)

    def shutdown(self) -> None:
        self.stopping.set()
        self._warm_wake.set()
        with self.lock:
            if self.session is not None:
                # A clean stop (SIGTERM) is not a crash: the session is recorded as stopped.
                self.stop_session("stopped")
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)


def run_daemon(programs_dir: Path, *, resume: bool = False, socket_path: Path | None = None,
               history_path: Path | None = None, device=None, tz: str | None = None,
               misfire_grace_s: int = 600, rate: int = 48000, blocksize: int = 1024,
               preroll_ms: int = 500, buttons: list | None = None,
               voice_defaults: VoiceSettings | None = None) -> int:
    """The `coach daemon` main loop."""
    from coach.daemon import sdnotify
    from coach.daemon.control import ControlServer, socket_path as default_socket
    from coach.daemon.history import History

    history = History(history_path)
    d = Daemon(programs_dir, history=history, device=device, tz=tz, rate=rate,
               misfire_grace_s=misfire_grace_s, blocksize=blocksize, preroll_ms=preroll_ms,
               voice_defaults=voice_defaults)
    d.scan()
    d.start_warming()
    d.start_scheduler()  # before the socket answers, so `status` shows the next start at once
    server = ControlServer(socket_path or default_socket(), d.handle)
    try:
        server.start()
    except BaseException:
        d.shutdown()
        raise

    def on_signal(signum, frame):
        d.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for b in buttons or []:
        b.start(d.handle)
    if d.interrupted is not None:
        if resume:
            reply = d.resume_interrupted()
            if not reply.get("ok"):
                log.error("resume failed: %s", reply.get("error"))
        else:
            i = d.interrupted
            where = f"{i.set.exercise} set {i.set_no}" if i.set else f"{i.position_ms / 1000:.0f} s"
            log.warning("session %r was interrupted at %s; `coach daemon --resume` restarts "
                        "it there", i.program, where)
    sdnotify.ready()
    sdnotify.status(f"{len(d.programs)} programs, socket {server.path}")
    log.info("coach daemon ready: %d programs, socket %s", len(d.programs), server.path)
    wd = sdnotify.watchdog_interval()
    last_scan = last_wd = time.monotonic()
    last_wall = time.time()
    last_mono = last_scan
    try:
        while not d.stopping.is_set():
            d.stopping.wait(TICK_S)
            d.tick()
            t = time.monotonic()
            wall = time.time()
            step = (wall - last_wall) - (t - last_mono)
            if abs(step) > CLOCK_STEP_S:
                d.clock_stepped(step)
            last_wall, last_mono = wall, t
            if t - last_scan >= RESCAN_S:
                last_scan = t
                with d.lock:
                    changed = d.scan()
                    d.reschedule(changed)
            if wd and t - last_wd >= wd / 2:
                sdnotify.watchdog()
                last_wd = t
    finally:
        sdnotify.stopping()
        for b in buttons or []:
            b.close()
        d.shutdown()
        server.close()
        history.close()
    return 0
