"""The phone page in a real browser (Debian's Chromium, headless, at a phone's size, driven by
Selenium) against the real server in front of an in-process daemon: the page loads with the
token and shows the playing exercise, a tap on Pause pauses the daemon, a rating tap lands in
`coach history --json`, an edit with a mistake shows the error beside its line and leaves the
file untouched, and without the token the page gets 401."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import chromium
from tests.support.cli import coach
from tests.support.programs import RATED_SPLIT
from tests.support.webrig import WEB_DAY, base_url, web_rig

pytestmark = pytest.mark.slow


def wait(driver: Any, pred: Callable[[], Any], what: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = pred()
        except Exception:  # an element not there yet
            got = None
        if got:
            return got
        time.sleep(0.05)
    page = driver.find_element("tag name", "body").text
    raise AssertionError(f"timed out waiting for {what}; page: {page!r}")


def text(driver: Any, id_: str) -> str:
    return driver.find_element("id", id_).text


def drawn(driver: Any, id_: str) -> str:
    """An element's text as the page wrote it (hidden or not, before CSS's capitals)."""
    return driver.execute_script("return document.getElementById(arguments[0]).textContent", id_)


def tap(driver: Any, css: str) -> None:
    driver.find_element("css selector", css).click()


def test_the_page_runs_a_session_pauses_it_and_rates_a_set(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with web_rig(tmp_path, history_path=data / "coach" / "history.sqlite3") as (rig, server), \
            chromium() as driver:
        u = base_url(server)
        driver.get(f"{u}/?token={server.token}")
        assert driver.current_url == f"{u}/"  # the token left the address bar for a cookie
        wait(driver, lambda: text(driver, "exercise") == "No session", "the idle page")
        # Start it from the library (its length shown beside it).
        tap(driver, '[data-tab="programs"]')
        card = wait(driver, lambda: driver.find_element("css selector", '[data-stem="day"]'),
                    "the library")
        assert "Web day" in card.text and "1:48" in card.text
        tap(driver, '[data-start="day"]')
        rig.wait_for(lambda st: st["state"] == "playing", "playing")
        # (The page names the exercise while it prepares too, beside "preparing N of M": the
        # playing status may reach it up to a poll later than the daemon plays, so wait.)
        wait(driver, lambda: text(driver, "exercise") == "Row", "the playing exercise")
        wait(driver, lambda: text(driver, "set") == "Set 1 of 2", "the set")
        assert text(driver, "next") == "Next: Row, set 2 of 2"
        wait(driver, lambda: text(driver, "phase") == "Get ready", "the announce phase")

        tap(driver, "#pause")
        rig.wait_for(lambda st: st["state"] == "paused", "paused by the tap")
        wait(driver, lambda: driver.find_element("id", "resume").is_displayed(), "Resume")
        tap(driver, "#resume")
        rig.wait_for(lambda st: st["state"] == "playing", "resumed by the tap")

        st = rig.play_s(16)  # (a resume goes back a little, so step on to the rest)
        while st["phase"] not in ("rest", "answer"):
            st = rig.play_s(1)  # Row set 1 done: its rest, where the rating is open
        wait(driver, lambda: driver.find_element("id", "rate").is_displayed(), "the rating row")
        assert text(driver, "phase").startswith(("Rest", "Rate it"))
        tap(driver, '[data-rate="4"]')
        wait(driver, lambda: text(driver, "message") == "Rated 4", "the rating's answer")
        assert not driver.find_element("id", "rate").is_displayed()
        tap(driver, '[data-verb="stop"]')
        rig.wait_for(lambda st: st["state"] == "idle", "stopped by the tap")
    env = {**os.environ, "XDG_DATA_HOME": str(data), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    r = coach("history", "--json", env=env)
    assert r.returncode == 0, r.stderr
    [s] = json.loads(r.stdout)
    assert s["program"] == "Web day" and s["sets"][0]["ratings"] == {"feel": 4}


def test_a_plan_strip_keeps_its_place_before_its_image_comes(tmp_path: Path) -> None:
    """The strip's box is reserved from the program list's `plan` size, so Start does not move
    when the image comes (the likely cause of a start tap that started nothing in CI, once,
    under load: the image coming between Selenium finding Start and clicking it). The image is
    held back here (blocked), so the box is all there is."""
    with web_rig(tmp_path) as (rig, server), chromium() as driver:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*plan.png*"]})
        driver.get(f"{base_url(server)}/?token={server.token}")
        tap(driver, '[data-tab="programs"]')
        img = wait(driver, lambda: driver.find_element("css selector", '[data-stem="day"] img'),
                   "the library")
        assert not driver.execute_script("return arguments[0].naturalWidth", img)  # not come
        # the size the program list gave (its API test: the PNG's own), set on the element
        w, h = (int(img.get_dom_attribute(k) or 0) for k in ("width", "height"))
        assert w > 0 and h > 0, "no size reserved"
        box = img.rect
        assert box["width"] > 100 and abs(box["height"] - box["width"] * h / w) <= 1, (box, w, h)


# Holds every POST's response in the page until the test releases it: a reply that is slow to
# come back, as on a phone's Wi-Fi (everything else, the event stream too, runs as it is).
HOLD_REPLIES = """
const real = window.fetch; window.held = [];
window.fetch = (url, init) => real(url, init).then((r) => init && init.method === "POST"
  ? new Promise((ok) => window.held.push(() => ok(r))) : r);
window.release = () => { const n = window.held.length; window.held.splice(0).forEach((f) => f()); return n; };
"""


def test_the_rating_row_names_the_side_that_ended_through_the_switch(tmp_path: Path) -> None:
    # Found in session 14: a switch's own side is the side coming ("right" after the left side),
    # and the row said "Rate Split squat, set 1 (right)" there while a tap rated the left; after
    # the left was rated in its answer phase, the row came back in the switch for "(right)".
    with web_rig(tmp_path) as (rig, server), chromium() as driver:
        (rig.programs / "split.yaml").write_text(RATED_SPLIT)
        rig.call("reload")
        driver.get(f"{base_url(server)}/?token={server.token}")
        wait(driver, lambda: text(driver, "exercise") == "No session", "the idle page")
        rig.start("split")
        st = rig.play_to(15.0)  # the left's question, in the switch
        assert (st["phase"], st["side"]) == ("switch", "right")
        wait(driver, lambda: text(driver, "rate-label") == "Rate Split squat, set 1 (left)",
             "the left side named")
        rig.play_to(27.0)  # past its answer phase: the switch again, the left still rateable
        wait(driver, lambda: text(driver, "phase") == "Switch sides", "the switch")
        assert text(driver, "rate-label") == "Rate Split squat, set 1 (left)"
        tap(driver, '[data-rate="4"]')
        wait(driver, lambda: text(driver, "message") == "Rated 4 (left side)", "the answer")
        rig.play_to(31.0)
        time.sleep(0.6)  # two polls of the stream: the row stays hidden for the side rated
        assert not driver.find_element("id", "rate").is_displayed()
        rig.call("stop")
        assert rig.stored_ratings() == [(1, "left", "feel", 4)]


def test_a_late_reply_never_draws_over_a_newer_status(tmp_path: Path) -> None:
    """Start's reply (the session preparing) arrives after the stream said it plays: the page
    keeps showing it playing (it showed "preparing 11 of 24" beside the exercise, found in CI)."""
    with web_rig(tmp_path) as (rig, server), chromium() as driver:
        driver.get(f"{base_url(server)}/?token={server.token}")
        wait(driver, lambda: text(driver, "exercise") == "No session", "the idle page")
        tap(driver, '[data-tab="programs"]')
        wait(driver, lambda: driver.find_element("css selector", '[data-start="day"]'),
             "the library")
        driver.execute_script(HOLD_REPLIES)
        tap(driver, '[data-start="day"]')
        rig.wait_for(lambda st: st["state"] == "playing", "playing")
        # (The live tab is hidden behind the library: its text as drawn, not as displayed.)
        wait(driver, lambda: drawn(driver, "state") == "playing", "playing, from the stream")
        wait(driver, lambda: driver.execute_script("return window.held.length") == 1,
             "start's reply held")
        before = driver.execute_script("return window.coachLog.length")
        assert driver.execute_script("return window.release()") == 1
        # The reply handled: the start button's handler shows the live tab after it.
        wait(driver, lambda: driver.find_element("id", "live").is_displayed(), "the live tab")
        states = driver.execute_script(
            "return window.coachLog.slice(arguments[0]).map((e) => e[1].state)", before)
        assert "preparing" not in states, states
        assert drawn(driver, "state") == "playing" and drawn(driver, "set") == "Set 1 of 2"


def test_an_edit_with_a_mistake_shows_it_by_its_line_and_leaves_the_file(tmp_path: Path) -> None:
    with web_rig(tmp_path) as (rig, server), chromium() as driver:
        path = rig.programs / "day.yaml"
        before = path.stat().st_mtime_ns
        u = base_url(server)
        driver.get(f"{u}/?token={server.token}")
        tap(driver, '[data-tab="programs"]')
        wait(driver, lambda: driver.find_element("css selector", '[data-edit="day"]'), "the library")
        tap(driver, '[data-edit="day"]')
        box = wait(driver, lambda: driver.find_element("id", "text"), "the editor")
        wait(driver, lambda: box.get_attribute("value") == WEB_DAY, "the program's text")
        box.clear()
        box.send_keys(WEB_DAY.replace("reps: 3", "reps: three"))
        tap(driver, "#save")
        wait(driver, lambda: "unchanged" in text(driver, "save-message"), "the refusal")
        bad = driver.find_elements("css selector", "#lines li.bad")
        assert len(bad) == 1
        assert bad[0].text.startswith("    reps: three")  # the line itself...
        assert 'reps must be a whole number between 1 and 200, got "three"' in bad[0].text  # ...and why
        lines = driver.find_elements("css selector", "#lines li")
        assert lines.index(bad[0]) == 7  # line 8 of the file
        assert path.read_text() == WEB_DAY and path.stat().st_mtime_ns == before


def test_without_the_token_the_page_gets_401(tmp_path: Path) -> None:
    with web_rig(tmp_path) as (rig, server), chromium() as driver:
        u = base_url(server)
        driver.get(f"{u}/")
        assert "needs its token" in driver.find_element("tag name", "body").text
        status = driver.execute_script(
            "return fetch('/api/status').then(r => r.status)")
        assert status == 401
        driver.get(f"{u}/?token={server.token}")
        assert driver.execute_script("return fetch('/api/status').then(r => r.status)") == 200
