"""The words councillors stumbled on (#23): formatting help rather than "Markdown", the limit
and a count under the post box, how much to cut from a long post, whose post a reply answers,
no empty "Live activity", the sign-in error on the field it names, your own post not "New",
and lengths of time in minutes ("2 minutes", not "118 seconds")."""

from __future__ import annotations

import re

from confer import durations, i18n
from tests.conftest import World


async def _thread(world: World):
    c = await world.conference()
    s = await world.session(c)
    staff = await world.user(name="Pat Jones")
    await world.member(c, staff, "facilitator")
    t = await world.thread(s, staff)
    u = await world.user(name="Sam Taylor")
    await world.member(c, u, "participant")
    return c, t, staff, u


async def test_the_post_box_offers_formatting_help_and_its_limit(world, browser_factory):
    c, t, staff, u = await _thread(world)
    b = await browser_factory(u["email"])
    _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert "Markdown" not in text
    help_ = re.search(
        r'<details class="govuk-details confer-formatting-help">.*?</details>', text, re.S
    )
    assert help_ and "Formatting help" in help_.group(0)
    assert "<code>**bold text**</code>" in help_.group(0)
    assert "<code>[council website](https://www.example.gov.uk)</code>" in help_.group(0)
    assert "<code>- first point</code>" in help_.group(0)
    # GOV.UK's character count: the limit in the page, the live count's messages with it.
    group = re.search(r'<div class="govuk-form-group govuk-character-count"[^>]*>', text)
    assert group and 'data-module="govuk-character-count"' in group.group(0)
    assert 'data-maxlength="20000"' in group.group(0)
    assert 'data-i18n.characters-under-limit.other="You have %{count} characters remaining"' in (
        group.group(0)
    )
    assert (
        '<div id="body-info" class="govuk-hint govuk-character-count__message">'
        "You can enter up to 20,000 characters</div>" in text
    )
    assert re.search(r'<textarea class="govuk-textarea govuk-js-character-count" id="body"', text)
    assert 'aria-describedby="body-info body-hint' in text
    # The opening post of a new thread has the same.
    fac = await browser_factory(staff["email"])
    _, text = await fac.get(f"/c/{c['slug']}/sessions/{t['session']['id']}")
    assert "Markdown" not in text and "Formatting help" in text
    assert "You can enter up to 20,000 characters" in text


async def test_the_character_count_speaks_welsh_with_its_six_plural_forms(world, browser_factory):
    c, t, _, u = await _thread(world)
    b = await browser_factory(u["email"])
    await b.get(f"/language/cy?next=/c/{c['slug']}/threads/{t['id']}")
    _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert "Gallwch roi hyd at 20,000 nod" in text
    for tag in ("zero", "one", "two", "few", "many", "other"):
        assert f'data-i18n.characters-under-limit.{tag}="Mae gennych %{{count}} nod ar ôl"' in text
        assert (
            f'data-i18n.characters-over-limit.{tag}="Mae gennych %{{count}} nod yn ormod"' in text
        )
    assert "Help gyda fformatio" in text


async def test_a_post_too_long_says_how_much_to_cut(world, browser_factory, pool):
    c, t, _, u = await _thread(world)
    b = await browser_factory(u["email"])
    body = "a" * 20_312
    r, text = await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": body})
    assert r.status == 413
    assert "Your post is 312 characters too long. It must be 20,000 characters or fewer." in text
    assert body in text  # kept
    r, text = await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "b" * 20_001})
    assert "Your post is 1 character too long." in text
    status, err = await b.api("POST", f"/api/v1/threads/{t['id']}/posts", {"body": "c" * 21_000})
    assert status == 413
    assert err["error"]["fields"]["body"].startswith("Your post is 1,000 characters too long.")
    assert await pool.fetchval("SELECT count(*) FROM posts WHERE author_id = $1", u["id"]) == 0


async def test_replying_says_whose_post(world, browser_factory, pool):
    c, t, _, u = await _thread(world)
    first = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1 AND seq = 1", t["id"])
    b = await browser_factory(u["email"])
    _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}?reply_to={first}")
    assert (
        f'Replying to <a class="govuk-link" href="/c/{c["slug"]}/posts/{first}">Pat Jones</a>.'
        in text
    )
    # A post of another thread, or none: no name is given away.
    other = await world.thread(t["session"], u)
    elsewhere = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1", other["id"])
    _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}?reply_to={elsewhere}")
    assert "Replying to <a" in text and "an earlier post</a>" in text


async def test_live_activity_is_not_an_empty_heading(world, browser_factory):
    c, _, _, u = await _thread(world)
    b = await browser_factory(u["email"])
    _, text = await b.get(f"/c/{c['slug']}")
    aside = re.search(r"<aside[^>]*data-activity[^>]*>.*?</aside>", text, re.S)
    assert aside
    # Hidden until confer.js fills it, and never a heading over nothing.
    assert " hidden>" in aside.group(0).split("\n")[0]
    assert "New posts in this conference show here as they are written." in aside.group(0)


async def test_the_sign_in_error_marks_the_password_field(world, browser_factory):
    u = await world.user()
    b = await browser_factory()
    r, text = await b.post("/login", {"email": u["email"], "password": ""})
    assert r.status == 422
    assert '<a href="#password">Enter password</a>' in text
    assert re.search(r'<p id="password-error" class="govuk-error-message">.*Enter password', text)
    field = re.search(r'<input class="govuk-input[^"]*" id="password"[^>]*>', text)
    assert field and "govuk-input--error" in field.group(0)
    assert 'aria-describedby="password-error"' in field.group(0)


async def test_your_own_new_post_is_not_tagged_new(world, browser_factory):
    c, t, _, u = await _thread(world)
    b = await browser_factory(u["email"])
    await b.get(f"/c/{c['slug']}/threads/{t['id']}")  # read up to the opening post
    r, _ = await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "My own words"})
    assert r.status == 303
    other = await world.user()
    await world.member(c, other, "participant")
    o = await browser_factory(other["email"])
    await o.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "Someone else"})
    _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
    articles = re.findall(r'<article class="([^"]*)"[^>]*>(.*?)</article>', text, re.S)
    mine = [cls for cls, html in articles if "My own words" in html]
    theirs = [cls for cls, html in articles if "Someone else" in html]
    assert mine == ["confer-post"], mine
    assert theirs and "confer-post--new" in theirs[0]
    assert text.count("govuk-tag--yellow") == 1


def test_lengths_of_time_read_as_people_say_them():
    with i18n.using("en"):
        assert durations.wait(118) == "2 minutes"
        assert durations.wait(61) == "2 minutes"
        assert durations.wait(60) == "1 minute"
        assert durations.wait(45) == "45 seconds"
        assert durations.wait(1) == "1 second"
        assert durations.duration(90) == "1 minute and 30 seconds"
        assert durations.duration(120) == "2 minutes"
        assert durations.duration(3600) == "1 hour"
        assert durations.duration(3725) == "1 hour, 2 minutes and 5 seconds"
    with i18n.using("cy"):
        assert durations.wait(118).startswith("2 ") and "eiliad" not in durations.wait(118)
        assert durations.duration(90) == "1 munud a 30 eiliad"


async def test_slow_mode_is_told_in_minutes(world, browser_factory):
    c, t, staff, u = await _thread(world)
    fac = await browser_factory(staff["email"])
    status, body = await fac.api(
        "POST", f"/api/v1/threads/{t['id']}/moderation", {"action": "slow_mode", "seconds": 120}
    )
    assert status == 200, body
    b = await browser_factory(u["email"])
    _, text = await b.get(f"/c/{c['slug']}/threads/{t['id']}")
    assert "Slow mode: members can post once every 2 minutes." in text
    assert "120 seconds" not in text
    r, _ = await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "First"})
    assert r.status == 303
    r, text = await b.post(f"/c/{c['slug']}/threads/{t['id']}/posts", {"body": "Second"})
    assert r.status == 429
    assert "you can post again in 2 minutes." in text
    assert not re.search(r"in \d+ seconds", text)
