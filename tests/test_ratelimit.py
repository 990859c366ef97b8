"""Rate limits: the limiter's arithmetic, its configuration, and limits met over real HTTP."""

from __future__ import annotations

import pytest

from confer.errors import TooManyRequests
from confer.ratelimit import DEFAULTS, Limit, Limiter, parse


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_up_to_the_count_is_allowed_then_one_per_interval():
    clock = Clock()
    limiter = Limiter({"post": (Limit(5, 60), None)}, clock)
    for _ in range(5):
        limiter.check("post", user_id=1, address="10.0.0.1")
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("post", user_id=1, address="10.0.0.1")
    assert refused.value.retry_after == 12  # one interval: 60 s / 5
    assert "12 seconds" in refused.value.message
    assert "your text has been kept" in refused.value.message
    limiter.check("post", user_id=2, address="10.0.0.1")  # another member is not affected
    clock.now += 12
    limiter.check("post", user_id=1, address="10.0.0.1")
    with pytest.raises(TooManyRequests):
        limiter.check("post", user_id=1, address="10.0.0.1")


def test_the_address_limit_applies_across_members_and_to_the_anonymous():
    clock = Clock()
    limiter = Limiter({"search": (Limit(100, 60), Limit(3, 60))}, clock)
    for user in (1, 2, None):
        limiter.check("search", user_id=user, address="192.0.2.7")
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("search", user_id=4, address="192.0.2.7")
    assert refused.value.retry_after == 20
    limiter.check("search", user_id=4, address="192.0.2.8")


def test_refused_attempts_do_not_use_up_the_budget():
    clock = Clock()
    limiter = Limiter({"post": (Limit(2, 10), None)}, clock)
    limiter.check("post", user_id=1, address=None)
    limiter.check("post", user_id=1, address=None)
    for _ in range(50):
        with pytest.raises(TooManyRequests):
            limiter.check("post", user_id=1, address=None)
    clock.now += 5  # one interval later exactly one more is allowed, despite the 50 refusals
    limiter.check("post", user_id=1, address=None)


def test_minutes_are_said_in_minutes():
    clock = Clock()
    limiter = Limiter({"export": (Limit(1, 3600), None)}, clock)
    limiter.check("export", user_id=1, address=None)
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("export", user_id=1, address=None)
    assert refused.value.retry_after == 3600
    assert "60 minutes" in refused.value.message


def test_memory_follows_the_active_clients():
    clock = Clock()
    limiter = Limiter({"search": (None, Limit(10, 60))}, clock)
    for i in range(5000):
        limiter.check("search", user_id=None, address=f"10.1.{i // 256}.{i % 256}")
    assert len(limiter._tat) == 5000
    clock.now += 120
    limiter.check("search", user_id=None, address="10.9.9.9")
    assert len(limiter._tat) == 1


def test_rate_limits_are_configurable():
    limits = parse("post=5/10, post@address=50/10, search=off")
    assert limits["post"] == (Limit(5, 10), Limit(50, 10))
    assert limits["search"] == (None, DEFAULTS["search"][1])
    assert limits["export"] == DEFAULTS["export"]
    assert all(v == (None, None) for v in parse("off").values())
    assert parse("") == DEFAULTS


@pytest.mark.parametrize("spec", ["post=5", "nosuch=1/1", "post@host=1/1", "post=0/10", "post=a/b"])
def test_a_bad_rate_limit_setting_is_named(spec):
    with pytest.raises(ValueError, match="RATE_LIMITS"):
        parse(spec)
