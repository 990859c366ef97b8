"""A real CalDAV server imports the personal feed: Radicale (from the package index), started
here on 127.0.0.1 in a temporary folder with no authentication. Each event of the feed is PUT
into a calendar collection as its own resource (one UID per resource, as CalDAV requires, with
the VTIMEZONE it needs), then found again by a REPORT with time ranges the server evaluates
itself: so the server, not our own code, decides that 10:00 Europe/London is 09:00Z before the
clocks go back and 10:00Z after. After the organiser moves a session, re-importing updates
the same event (same UID, SEQUENCE raised, new time) and adds none.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from icalendar import Calendar

from tests.procs import free_port, wait_for_port
from tests.test_calendars import _add_session, _edit, _feed_path, _new_feed, _programme_conference

NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}
# Auth type none: any password; the name is the user, who owns /pat/.
AUTH = {"Authorization": aiohttp.encode_basic_auth("pat", "anything")}
COLLECTION = "/pat/confer/"


@pytest.fixture
def radicale() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="cfr-"))
    port = free_port()
    config = folder / "config"
    config.write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "[auth]\ntype = none\n"
        "[rights]\ntype = owner_only\n"
        "[storage]\n"
        f"filesystem_folder = {folder / 'collections'}\n"
        "[logging]\nlevel = warning\n"
    )
    log = (folder / "radicale.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


async def _import(dav: aiohttp.ClientSession, base: str, feed: bytes) -> list[str]:
    """Import a feed as a calendar client does: each VEVENT, with the VTIMEZONEs, PUT as one
    resource named after its UID (so a later import replaces it)."""
    cal = Calendar.from_ical(feed)
    names = []
    for event in cal.walk("VEVENT"):
        one = Calendar()
        for prop in ("PRODID", "VERSION", "CALSCALE"):
            one.add(prop, cal[prop])
        for tz in cal.walk("VTIMEZONE"):
            one.add_component(tz)
        one.add_component(event)
        name = re.sub(r"[^A-Za-z0-9]", "-", str(event["UID"])) + ".ics"
        async with dav.put(
            f"{base}{COLLECTION}{name}",
            data=one.to_ical(),
            headers={"Content-Type": "text/calendar; charset=utf-8"},
        ) as r:
            assert r.status in (201, 204), await r.text()
        names.append(name)
    return names


async def _report(
    dav: aiohttp.ClientSession, base: str, start: str | None = None, end: str | None = None
) -> list[Calendar]:
    """calendar-query REPORT: the events the server finds (in a time range it evaluates)."""
    time_range = f'<C:time-range start="{start}" end="{end}"/>' if start else ""
    body = f"""<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">{time_range}
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""
    async with dav.request(
        "REPORT",
        f"{base}{COLLECTION}",
        data=body.encode(),
        headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
    ) as r:
        assert r.status == 207, await r.text()
        tree = ET.fromstring(await r.read())  # noqa: S314 (our own test server's answer)
    return [Calendar.from_ical(d.text) for d in tree.iterfind(".//C:calendar-data", NS)]


def _one(cals: list[Calendar]) -> object:
    [cal] = cals
    [event] = cal.walk("VEVENT")
    return event


async def test_radicale_imports_the_feed_at_the_right_times_and_updates_a_moved_session(
    radicale, world, pool, browser_factory
):
    org = await world.user("Olive Organiser")
    c = await _programme_conference(world, pool, organiser=org)
    b = await browser_factory(org["email"])
    b.pool = pool
    before = await _add_session(b, c, "Before the change", "2026-10-24T10:00", "2026-10-24T11:00")
    after = await _add_session(b, c, "After the change", "2026-10-26T10:00", "2026-10-26T11:00")
    pat = await world.user("Pat Participant")
    await world.member(c, pat, "participant")
    pb = await browser_factory(pat["email"])
    for sid in (before, after):
        r, _ = await pb.post(f"/c/{c['slug']}/sessions/{sid}/star", {"starred": "yes"})
        assert r.status == 303
    token = await _new_feed(pb)

    async with aiohttp.ClientSession(headers=AUTH) as dav:
        async with dav.request("PROPFIND", f"{radicale}/pat/", headers={"Depth": "0"}) as r:
            assert r.status == 207  # the principal's home, made on first use
        async with dav.request("MKCALENDAR", f"{radicale}{COLLECTION}") as r:
            assert r.status == 201, await r.text()

        _, feed = await pb.get(_feed_path(token))
        names = await _import(dav, radicale, feed.encode())
        assert len(names) == 2
        assert len(await _report(dav, radicale)) == 2
        # 10:00 on the programme both days: the server finds it at 09:00Z (BST), then 10:00Z.
        e = _one(await _report(dav, radicale, "20261024T090000Z", "20261024T091500Z"))
        assert str(e["SUMMARY"]) == "Before the change"
        e = _one(await _report(dav, radicale, "20261026T100000Z", "20261026T101500Z"))
        assert str(e["SUMMARY"]) == "After the change"
        uid = str(e["UID"])
        assert await _report(dav, radicale, "20261026T090000Z", "20261026T095900Z") == []

        # The organiser moves the session; the calendar re-imports the feed.
        r, text = await b.post(
            f"/c/{c['slug']}/manage/sessions/{after}",
            _edit(c, after, "After the change", "2026-10-27T14:30", "2026-10-27T15:30"),
        )
        assert r.status == 303, text[:2000]
        _, feed = await pb.get(_feed_path(token))
        assert await _import(dav, radicale, feed.encode()) == names
        everything = await _report(dav, radicale)
        assert len(everything) == 2  # updated in place, not added
        moved = _one(await _report(dav, radicale, "20261027T143000Z", "20261027T144500Z"))
        assert str(moved["UID"]) == uid
        assert int(moved["SEQUENCE"]) == 1
        assert moved.start.astimezone(UTC) == datetime(2026, 10, 27, 14, 30, tzinfo=UTC)
        assert await _report(dav, radicale, "20261026T100000Z", "20261026T101500Z") == []
