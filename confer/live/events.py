"""Live events: what services publish after their transaction commits.

The wire names are the protocol in docs/live.md (post:new, thread:updated, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    name: str
    room: str
    data: dict[str, Any]


def thread_room(thread_id: int) -> str:
    return f"thread:{thread_id}"


def conference_room(conference_id: int) -> str:
    return f"conference:{conference_id}"
