"""docs/api.md's worked example, run as an integrator would: the script is taken from the
document itself (so the document cannot drift from the API), run with Python against a real
Confer with a site administrator's token, and the conference it made is then read back: its
programme page shows the sessions, and its people have their roles and sessions."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from confer.accounts import service as accounts
from confer.policy import Actor

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
MARK = "<!-- example: create-conference"


def example_script() -> str:
    """The Python block that follows the example's marker in docs/api.md."""
    text = DOC.read_text()
    after = text[text.index(MARK) :]
    found = re.search(r"```python\n(.*?)```", after, re.DOTALL)
    assert found, "docs/api.md: no ```python block after the example's marker"
    return found.group(1)


async def run_example(base: str, token: str, tmp: Path) -> str:
    """Run the example as a separate Python process; its output (it must succeed)."""
    script = tmp / "create_conference.py"
    script.write_text(example_script())
    env = {**os.environ, "CONFER_URL": base, "CONFER_TOKEN": token}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), env=env, cwd=tmp,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    text = out.decode()
    assert proc.returncode == 0, text
    return text


async def admin_token(world, pool) -> str:
    admin = await world.user("Ada Admin", admin=True)
    token, _ = await accounts.create_api_token(
        pool, Actor(user_id=admin["id"], name="Ada Admin", is_admin=True), "example"
    )
    return token


SESSIONS = [
    "Opening keynote: services residents want",
    "Day one: online forms that work",
    "Ask the panel: channel shift",
    "Day two: data sharing between councils",
    "Day three: what we will do next",
    "Closing keynote",
]


async def test_the_worked_example_creates_a_three_day_conference(
    world, pool, server, browser_factory, tmp_path
):
    token = await admin_token(world, pool)
    output = await run_example(str(server.make_url("")).rstrip("/"), token, tmp_path)
    slug = re.search(r"Created /c/([a-z0-9-]+) as a draft", output).group(1)
    assert "Published: upcoming" in output

    c = await pool.fetchrow("SELECT * FROM conferences WHERE slug = $1", slug)
    assert c["published_at"] is not None and c["registration"] == "approval"
    assert (c["ends_at"] - c["starts_at"]).days == 2  # 09:00 on day one to 17:00 on day three

    # The programme page, as anyone reads it, shows every session by day.
    b = await browser_factory()
    r, page = await b.get(f"/c/{slug}/programme")
    assert r.status == 200
    for title in SESSIONS:
        assert title in page, title
    # The panel was moved to 14:00 (local time, London).
    panel = await pool.fetchrow(
        "SELECT id, to_char(starts_at AT TIME ZONE 'Europe/London', 'HH24:MI') AS starts "
        "FROM sessions WHERE conference_id = $1 AND kind = 'panel'",
        c["id"],
    )
    assert panel["starts"] == "14:00"

    # Roles: nobody had a place yet, so each is invited with their role.
    invited = {
        r["email"]: r["role"]
        for r in await pool.fetch(
            "SELECT email, role FROM invitations WHERE conference_id = $1", c["id"]
        )
    }
    assert invited == {
        "olivia.organiser@example.gov.uk": "organiser",
        "fatima.facilitator@example.gov.uk": "facilitator",
        "dev.day-two@example.gov.uk": "facilitator",
        "priya.speaker@example.gov.uk": "speaker",
        "tom.speaker@example.gov.uk": "speaker",
        "olwen.observer@example.gov.uk": "observer",
    }
    # The invitations carry the sessions: the day-two facilitator's and the panel speakers'.
    scoped = await pool.fetch(
        "SELECT i.email, s.kind FROM invitations i, unnest(i.session_ids) AS x(id) "
        "JOIN sessions s ON s.id = x.id WHERE i.conference_id = $1 ORDER BY i.email",
        c["id"],
    )
    assert [(r["email"], r["kind"]) for r in scoped] == [
        ("dev.day-two@example.gov.uk", "discussion"),
        ("priya.speaker@example.gov.uk", "panel"),
        ("tom.speaker@example.gov.uk", "panel"),
    ]
