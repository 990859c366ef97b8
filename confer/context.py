"""What every service needs: the pool, the settings and the live hub."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from confer.live.hub import Hub
from confer.settings import Settings


@dataclass(frozen=True)
class Ctx:
    pool: asyncpg.Pool
    settings: Settings
    hub: Hub
