"""What every service needs: the pool, the settings and the live hub."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg

from confer.live.hub import Hub
from confer.settings import Settings

if TYPE_CHECKING:
    from confer.metrics import Metrics


@dataclass(frozen=True)
class Ctx:
    pool: asyncpg.Pool
    settings: Settings
    hub: Hub
    metrics: Metrics | None = None  # the app's (confer.metrics); None outside a server
