"""Conferences: creating, editing, publishing, the programme, roles, joining, visibility."""

from __future__ import annotations

from datetime import UTC, timedelta

from tests.conftest import World


def _dt(days: int = 0, hours: int = 0) -> str:
    from datetime import datetime

    d = datetime(2030, 6, 1, 9, 0) + timedelta(days=days, hours=hours)
    return d.strftime("%Y-%m-%dT%H:%M")


async def test_admin_creates_a_draft_conference_and_names_its_organisers(
    world, browser_factory, pool
):
    admin = await world.user(admin=True)
    organiser = await world.user(name="Olivia")
    b = await browser_factory(admin["email"])
    r, _ = await b.post(
        "/admin/conferences",
        {
            "slug": "social-media-2030",
            "title": "Councillors connected",
            "timezone": "Europe/London",
            "starts_at": _dt(0),
            "ends_at": _dt(3),
            "visibility": "public",
            "summary": "Three **days**",
            "code_of_conduct": "Be kind",
            "organisers": organiser["email"],
        },
    )
    assert r.status == 303 and r.headers["Location"].startswith("/c/social-media-2030/manage")
    row = await pool.fetchrow(
        "SELECT id, published_at, summary_html, starts_at FROM conferences WHERE slug = $1",
        "social-media-2030",
    )
    assert row["published_at"] is None
    assert "<strong>days</strong>" in row["summary_html"]
    # 09:00 in London in June (BST) is 08:00 UTC
    assert row["starts_at"].astimezone(UTC).hour == 8
    roles = await pool.fetch(
        "SELECT user_id, role FROM memberships WHERE conference_id = $1", row["id"]
    )
    assert [(r["user_id"], r["role"]) for r in roles] == [(organiser["id"], "organiser")]


async def test_a_site_admin_lets_a_chosen_organiser_create_conferences(
    world, browser_factory, pool
):
    admin = await world.user("Ada Admin", admin=True)
    olive = await world.user("Olive Organiser")
    ob = await browser_factory(olive["email"])
    # Refused at first, with a message that says who can allow her.
    r, page = await ob.get("/admin/conferences/new")
    assert r.status == 403
    assert "To be allowed, ask a site administrator: Ada Admin." in page
    r, page = await ob.get("/admin/people")
    assert r.status == 403
    # The admin allows her on the people page (an address with no account is refused).
    ab = await browser_factory(admin["email"])
    r, page = await ab.post("/admin/people", {"email": "nobody@example.org", "allowed": "yes"})
    assert r.status == 422 and "There is no account with the address nobody@example.org" in page
    r, _ = await ab.post("/admin/people", {"email": olive["email"].upper(), "allowed": "yes"})
    assert r.status == 303 and "done=allowed" in r.headers["Location"]
    _, page = await ab.get(r.headers["Location"])
    assert "They can now create conferences." in page and olive["email"] in page
    # Now she can: she is the organiser of what she creates, with an invitation sent to a
    # co-organiser who has no account yet (not "ask them to register").
    _, page = await ob.get("/")
    assert 'href="/admin/conferences/new"' in page and 'href="/admin/people"' not in page
    r, page = await ob.post(
        "/admin/conferences",
        {"slug": "olives-conference", "title": "Olive's", "timezone": "Europe/London",
         "starts_at": _dt(0), "ends_at": _dt(3), "visibility": "public",
         "organisers": "co.organiser@example.org"},
    )  # fmt: skip
    assert r.status == 303, page
    cid = await pool.fetchval("SELECT id FROM conferences WHERE slug = 'olives-conference'")
    assert (
        await pool.fetchval(
            "SELECT role FROM memberships WHERE conference_id = $1 AND user_id = $2",
            cid,
            olive["id"],
        )
        == "organiser"
    )
    assert await pool.fetchval(
        "SELECT role FROM invitations WHERE conference_id = $1 AND email = $2",
        cid, "co.organiser@example.org",
    ) == "organiser"  # fmt: skip
    assert (
        await pool.fetchval("SELECT kind FROM outbox WHERE to_address = 'co.organiser@example.org'")
        == "invitation"
    )
    # Taken back: refused again.
    r, _ = await ab.post("/admin/people", {"email": olive["email"], "allowed": "no"})
    assert r.status == 303
    r, _ = await ob.get("/admin/conferences/new")
    assert r.status == 403


async def test_only_admins_create_conferences(world, browser_factory):
    u = await world.user()
    b = await browser_factory(u["email"])
    r, _ = await b.get("/admin/conferences/new")
    assert r.status == 403
    r, _ = await b.post("/admin/conferences", {"slug": "nope-nope", "title": "x"})
    assert r.status == 403


async def test_conference_form_names_each_bad_field_and_keeps_values(world, browser_factory):
    admin = await world.user(admin=True)
    b = await browser_factory(admin["email"])
    r, text = await b.post(
        "/admin/conferences",
        {
            "slug": "Bad Slug!",
            "title": "Kept title",
            "timezone": "Mars/Olympus",
            "starts_at": _dt(3),
            "ends_at": _dt(0),
        },
    )
    assert r.status == 422
    for field in ("slug", "timezone"):
        assert f'href="#{field}"' in text
    assert 'value="Kept title"' in text
    r, text = await b.post(
        "/admin/conferences",
        {
            "slug": "ok-slug",
            "title": "T",
            "timezone": "Europe/London",
            "starts_at": _dt(3),
            "ends_at": _dt(0),
        },
    )
    assert r.status == 422 and "End must be after the start" in text


async def test_drafts_are_invisible_except_to_organisers(world: World, browser_factory):
    c = await world.conference(published=False)
    organiser = await world.user()
    await world.member(c, organiser, "organiser")
    stranger = await world.user()
    anon = await browser_factory()
    r, _ = await anon.get(f"/c/{c['slug']}")
    assert r.status == 404
    s = await browser_factory(stranger["email"])
    r, _ = await s.get(f"/c/{c['slug']}")
    assert r.status == 404
    _, text = await s.get("/")
    assert c["slug"] not in text
    o = await browser_factory(organiser["email"])
    r, text = await o.get(f"/c/{c['slug']}")
    assert r.status == 200 and "Draft" in text


async def test_organiser_publishes_and_state_follows_the_database_clock(
    world, browser_factory, pool
):
    c = await world.conference(published=False, starts_in=timedelta(hours=2))
    organiser = await world.user()
    await world.member(c, organiser, "organiser")
    o = await browser_factory(organiser["email"])
    r, _ = await o.post(f"/c/{c['slug']}/manage/publish", {"published": "yes"})
    assert r.status == 303
    _, body = await o.api("GET", f"/api/v1/conferences/{c['slug']}")
    assert body["state"] == "upcoming"
    await pool.execute(
        "UPDATE conferences SET starts_at = now() - interval '1 minute' WHERE id = $1", c["id"]
    )
    _, body = await o.api("GET", f"/api/v1/conferences/{c['slug']}")
    assert body["state"] == "live"
    await pool.execute(
        "UPDATE conferences SET ends_at = now() - interval '1 second', "
        "starts_at = now() - interval '1 day' WHERE id = $1",
        c["id"],
    )
    _status, body = await o.api("GET", f"/api/v1/conferences/{c['slug']}")
    assert body["state"] == "closed"


async def test_organiser_edits_the_conference_and_others_cannot(world, browser_factory, pool):
    c = await world.conference()
    organiser, participant = await world.user(), await world.user()
    await world.member(c, organiser, "organiser")
    await world.member(c, participant, "participant")
    form = {
        "title": "Renamed",
        "timezone": "Europe/London",
        "starts_at": _dt(0),
        "ends_at": _dt(3),
        "visibility": "members",
    }
    p = await browser_factory(participant["email"])
    r, _ = await p.get(f"/c/{c['slug']}/manage")
    assert r.status == 403
    r, _ = await p.post(f"/c/{c['slug']}/manage", form)
    assert r.status == 403
    o = await browser_factory(organiser["email"])
    r, _ = await o.post(f"/c/{c['slug']}/manage", form)
    assert r.status == 303
    assert await pool.fetchval("SELECT title FROM conferences WHERE id = $1", c["id"]) == "Renamed"


async def test_sessions_are_added_inside_the_conference_window_only(world, browser_factory, pool):
    admin = await world.user(admin=True)
    b = await browser_factory(admin["email"])
    await b.post(
        "/admin/conferences",
        {
            "slug": "prog-test",
            "title": "T",
            "timezone": "Europe/London",
            "starts_at": _dt(0),
            "ends_at": _dt(3),
        },
    )
    r, text = await b.post(
        "/c/prog-test/manage/sessions",
        {
            "session_kind": "discussion",
            "session_title": "Too early",
            "session_starts_at": _dt(-1),
            "session_ends_at": _dt(0, 2),
        },
    )
    assert r.status == 422 and "inside the conference" in text
    assert 'value="Too early"' in text
    r, _ = await b.post(
        "/c/prog-test/manage/sessions",
        {
            "session_kind": "panel",
            "session_title": "Ask the panel",
            "session_starts_at": _dt(1),
            "session_ends_at": _dt(1, 1),
            "session_participants_start_threads": "on",
        },
    )
    assert r.status == 303
    row = await pool.fetchrow("SELECT id, kind, title, participants_start_threads FROM sessions")
    assert (row["kind"], row["title"], row["participants_start_threads"]) == (
        "panel",
        "Ask the panel",
        True,
    )
    r, text = await b.get("/c/prog-test/programme")
    assert "Ask the panel" in text
    # Edit, then delete
    r, _ = await b.post(
        f"/c/prog-test/manage/sessions/{row['id']}",
        {"kind": "discussion", "title": "Renamed", "starts_at": _dt(1), "ends_at": _dt(1, 2)},
    )
    assert r.status == 303
    assert await pool.fetchval("SELECT title FROM sessions WHERE id = $1", row["id"]) == "Renamed"
    r, _ = await b.post(f"/c/prog-test/manage/sessions/{row['id']}/delete")
    assert r.status == 303
    assert await pool.fetchval("SELECT count(*) FROM sessions") == 0


async def test_programme_times_are_shown_in_the_conference_timezone_with_the_zone_named(
    world, browser_factory, pool
):
    c = await world.conference(timezone="America/New_York")
    await pool.execute(
        "UPDATE conferences SET starts_at = '2030-01-15 14:00Z', ends_at = '2030-01-18 14:00Z' "
        "WHERE id = $1",
        c["id"],
    )
    s = await world.session(c, title="Morning")
    await pool.execute(
        "UPDATE sessions SET starts_at = '2030-01-15 15:00Z', ends_at = '2030-01-15 16:00Z' "
        "WHERE id = $1",
        s["id"],
    )
    b = await browser_factory()
    _, text = await b.get(f"/c/{c['slug']}/programme")
    assert "10:00 EST" in text  # 15:00 UTC in New York in January
    # The zone named as people say it (#23): its abbreviation, not "America/New_York".
    assert "Times are shown in EST." in text


async def test_joining_needs_the_code_of_conduct_accepted(world, browser_factory, pool):
    c = await world.conference()
    u = await world.user()
    b = await browser_factory(u["email"])
    r, text = await b.post(f"/c/{c['slug']}/join", {})
    assert r.status == 422 and "accept the code of conduct" in text
    assert await pool.fetchval("SELECT count(*) FROM memberships") == 0
    r, _ = await b.post(f"/c/{c['slug']}/join", {"accept_code_of_conduct": "on"})
    assert r.status == 303
    row = await pool.fetchrow(
        "SELECT role, coc_accepted_at FROM memberships WHERE user_id = $1", u["id"]
    )
    assert row["role"] == "participant" and row["coc_accepted_at"] is not None
    _, text = await b.get(f"/c/{c['slug']}")
    assert "You are a participant" in text


async def test_anonymous_join_is_sent_to_sign_in(world, browser_factory):
    c = await world.conference()
    b = await browser_factory()
    r, _ = await b.post(f"/c/{c['slug']}/join", {"accept_code_of_conduct": "on"})
    assert r.status == 303 and r.headers["Location"].startswith("/login?next=")


async def test_organiser_assigns_roles_including_a_scoped_facilitator(world, browser_factory, pool):
    c = await world.conference()
    s1 = await world.session(c, title="One")
    await world.session(c, title="Two")
    organiser, fac = await world.user(), await world.user()
    await world.member(c, organiser, "organiser")
    await world.member(c, fac, "participant")  # a member: the role changes at once
    o = await browser_factory(organiser["email"])
    r, _ = await o.post(
        f"/c/{c['slug']}/manage/roles",
        {"role_email": fac["email"], "role_role": "facilitator", "sessions": str(s1["id"])},
    )
    assert r.status == 303 and "done=role-assigned" in r.headers["Location"]
    row = await pool.fetchrow(
        "SELECT role, facilitates FROM memberships WHERE user_id = $1", fac["id"]
    )
    assert (row["role"], row["facilitates"]) == ("facilitator", "sessions")
    assert await pool.fetchval(
        "SELECT array_agg(session_id) FROM session_facilitators WHERE user_id = $1", fac["id"]
    ) == [s1["id"]]
    # Anyone else is invited with the role (tests/test_rights_paths.py), whether or not the
    # address has an account.
    r, text = await o.post(
        f"/c/{c['slug']}/manage/roles", {"role_email": "nobody@example.org", "role_role": "speaker"}
    )
    assert r.status == 303 and "done=role-invited" in r.headers["Location"]


async def test_speakers_page_lists_panel_speakers_with_their_sessions(world, browser_factory, pool):
    c = await world.conference()
    panel = await world.session(c, kind="panel", title="Ask the panel")
    organiser = await world.user()
    speaker = await world.user(
        name="Jane Smith", title="Cllr", organisation="Liverpool City Council"
    )
    await world.member(c, organiser, "organiser")
    await world.member(c, speaker, "participant")
    o = await browser_factory(organiser["email"])
    r, _ = await o.post(
        f"/c/{c['slug']}/manage/roles",
        {"role_email": speaker["email"], "role_role": "speaker", "sessions": str(panel["id"])},
    )
    assert r.status == 303
    _, text = await o.get(f"/c/{c['slug']}/speakers")
    assert (
        "Cllr Jane Smith" in text and "Liverpool City Council" in text and "Ask the panel" in text
    )
    _, text = await o.get(f"/c/{c['slug']}/programme")
    assert "Jane Smith" in text


async def test_members_only_conference_hides_threads_from_non_members(world, browser_factory):
    c = await world.conference(visibility="members")
    s = await world.session(c)
    author = await world.user()
    await world.member(c, author, "organiser")
    t = await world.thread(s, author)
    anon = await browser_factory()
    r, _ = await anon.get(f"/c/{c['slug']}")
    assert r.status == 200  # the home page says what it is and how to join
    r, _ = await anon.get(f"/c/{c['slug']}/threads/{t['id']}", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"].startswith("/login")
    outsider = await browser_factory((await world.user())["email"])
    r, text = await outsider.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert r.status == 403 and "for its members" in text
    member = await world.user()
    await world.member(c, member, "observer")
    m = await browser_factory(member["email"])
    r, _ = await m.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert r.status == 200


async def test_ids_from_another_conference_answer_404(world, browser_factory):
    a, b_conf = await world.conference(), await world.conference()
    sa = await world.session(a)
    author = await world.user()
    await world.member(a, author, "organiser")
    t = await world.thread(sa, author)
    b = await browser_factory(author["email"])
    for path in (
        f"/c/{b_conf['slug']}/sessions/{sa['id']}",
        f"/c/{b_conf['slug']}/threads/{t['id']}",
        f"/c/{b_conf['slug']}/manage/sessions/{sa['id']}",
    ):
        r, _ = await b.get(path)
        assert r.status in (403, 404), path
    r, _ = await b.post(
        f"/c/{b_conf['slug']}/threads/{t['id']}/posts",
        {"body": "cross-conference", "idempotency_key": "x1"},
    )
    assert r.status == 404
