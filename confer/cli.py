"""The `confer` command: serve, migrate, demo, user create, token create."""

from __future__ import annotations

import argparse
import asyncio
import functools
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from confer import __version__
from confer.errors import StartupError
from confer.settings import SettingError, Settings
from confer.urls import url

# Seconds aiohttp waits for requests still in flight once a drain is over (confer.serving).
SHUTDOWN_TIMEOUT = 10


class Refused(Exception):
    """A command that must not go on, with the sentence that says why (exit code 2)."""


def _dsn(settings: Settings, *, create_embedded: bool = False) -> str:
    if settings.database_url:
        return settings.database_url
    from confer import embedded

    if not create_embedded and not embedded.exists(settings.data_dir):
        # An operator who forgot the server's environment would otherwise act on a new, empty
        # database of its own: "created" an admin that the real site never sees.
        raise Refused(
            "DATABASE_URL is not set, and there is no embedded database in "
            f"{settings.data_dir.resolve()}: this command would create a new, empty one. "
            "If your Confer server uses DATABASE_URL, run this command with the server's "
            "environment (for example: set -a; . /etc/confer/confer.env; set +a). To create "
            "an embedded database here, for trying Confer out, add --create-embedded."
        )
    return embedded.start(settings.data_dir)


async def _with_pool(
    settings: Settings,
    fn: Callable[[asyncpg.Pool], Awaitable[Any]],
    *,
    migrate: bool = True,
    create_embedded: bool = False,
) -> Any:
    """Run `fn` with a small pool. The embedded database (for trying Confer out) is migrated
    first; an operator's database (DATABASE_URL) must already be current: migrations there are
    `confer migrate`'s job, run once per upgrade, not a side effect of any command."""
    from confer import db

    pool = await db.create_pool(_dsn(settings, create_embedded=create_embedded), max_size=2)
    try:
        if migrate:
            async with pool.acquire() as con:
                if settings.database_url is None:
                    await db.migrate(con)
                elif pending := await db.pending_migrations(con):
                    raise Refused(
                        f"The database needs {len(pending)} migration(s) ({', '.join(pending)}): "
                        "run `confer migrate` first."
                    )
        return await fn(pool)
    finally:
        await pool.close()


def _print_demo(created: bool, users: list, base_url: str) -> None:
    from confer.demo import SLUG

    where = base_url + url("conference", slug=SLUG)
    print(f"Demo conference {'loaded' if created else 'already present'}: {where}")
    print("Sign in as any of these (email / password):")
    for u in users:
        role = "site admin" if u.key == "admin" else u.role
        print(f"  {role:<12} {u.email:<32} {u.password}")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from aiohttp import web

    from confer import serving
    from confer.app import create_app
    from confer.keys import pool_key
    from confer.startup import freeze_startup_heap
    from confer.web import AccessLog

    settings = settings.with_(host=args.host, port=args.port)
    if settings.smtp_url:
        from confer.mail.transport import SmtpConfig

        SmtpConfig.from_url(settings.smtp_url)  # SettingError before anything starts
    if not os.environ.get("BASE_URL"):
        settings = settings.with_(base_url=f"http://{args.host}:{args.port}")
    app = create_app(settings)
    app.on_startup.append(freeze_startup_heap)
    if args.demo:

        async def demo_on_start(app: web.Application) -> None:
            from confer.demo import load_demo

            created, users = await load_demo(app[pool_key])
            _print_demo(created, users, settings.base_url)

        app.on_startup.append(demo_on_start)
    if settings.log_format == "json":  # every line of output one JSON object, these too
        import logging

        say = logging.getLogger("confer").info
    else:
        say = functools.partial(print, flush=True)
    say(f"Confer is starting on {settings.base_url}")
    serving.run(
        app,
        host=args.host,
        port=args.port,
        drain=settings.shutdown_drain,
        access_log_class=AccessLog,
        print=say,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
    )
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    async def run(pool: asyncpg.Pool) -> None:
        from confer import db

        async with pool.acquire() as con:
            applied = await db.migrate(con)
        if applied:
            print(f"Applied {len(applied)} migration(s): {', '.join(applied)}.")
        else:
            print("The database is up to date: no migration to apply.")

    asyncio.run(_with_pool(settings, run, migrate=False, create_embedded=args.create_embedded))
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    async def run(pool: asyncpg.Pool) -> None:
        from confer.demo import load_demo

        created, users = await load_demo(pool)
        _print_demo(created, users, settings.base_url)

    asyncio.run(_with_pool(settings, run, create_embedded=True))
    return 0


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> int:
    from confer.accounts import service
    from confer.errors import Invalid

    password = args.password or os.environ.get("CONFER_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print("Give a password with --password or CONFER_PASSWORD.", file=sys.stderr)
            return 2
        password = getpass.getpass("Password: ")

    async def run(pool: asyncpg.Pool) -> int:
        try:
            user_id = await service.create_user(
                pool, email=args.email, name=args.name, password=password, is_admin=args.admin
            )
        except Invalid as e:
            for field, message in e.fields.items():
                print(f"{field}: {message}", file=sys.stderr)
            return 1
        print(f"Created user {user_id} <{args.email}>{' (site admin)' if args.admin else ''}.")
        return 0

    return asyncio.run(_with_pool(settings, run, create_embedded=args.create_embedded))


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    from confer.accounts import queries, service
    from confer.policy import Actor

    async def run(pool: asyncpg.Pool) -> int:
        user = await queries.fetch_user_by_email(pool, args.email)
        if user is None:
            print(f"No account for {args.email}.", file=sys.stderr)
            return 1
        actor = Actor(user_id=user["id"], name=user["name"], via="cli")
        token, _ = await service.create_api_token(pool, actor, args.name)
        print(token)
        return 0

    return asyncio.run(_with_pool(settings, run, create_embedded=args.create_embedded))


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Stream a transcript to a file or stdout, with a progress bar on a terminal."""
    from confer.errors import ConferError
    from confer.exports import service
    from confer.policy import Actor

    # The command line acts as a site administrator, recorded as such in the audit log.
    actor = Actor(user_id=None, name="command line", is_admin=True, via="cli")
    data = {
        "format": args.format,
        "session_id": args.session,
        "thread_id": args.thread,
        "include_hidden": args.include_hidden,
        "moderation_log": args.moderation_log,
    }

    async def run(pool: asyncpg.Pool) -> int:
        try:
            place, req = await service.start(
                pool, actor, args.slug, data, actor_label="command line"
            )
        except ConferError as e:
            print(e.message, *(f"{k}: {v}" for k, v in e.fields.items()), sep="\n", file=sys.stderr)
            return 1
        total = await service.count_posts(pool, place, req)
        show = sys.stderr.isatty()

        def progress(done: int) -> None:
            if show and total:
                width = 30
                filled = int(width * min(done, total) / total)
                bar = "#" * filled + "-" * (width - filled)
                print(f"\r[{bar}] {done}/{total} posts", end="", file=sys.stderr, flush=True)

        # Blocking file writes are fine here: the command runs nothing else on its loop.
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: ASYNC230
        try:
            async for chunk in service.stream(pool, place, req, progress):
                out.write(chunk)
        finally:
            if args.output:
                out.close()
        if show:
            print(file=sys.stderr)
        if args.output:
            print(f"Wrote {total} posts to {args.output}", file=sys.stderr)
        return 0

    return asyncio.run(_with_pool(settings, run, create_embedded=args.create_embedded))


def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    """Queue one conference day's digest emails by hand; running it again sends nothing new."""
    from datetime import date

    from confer.errors import ConferError
    from confer.notifications import digest

    try:
        day = date.fromisoformat(args.date) if args.date else None
    except ValueError:
        print(f"--date must be a date like 2026-11-24, not {args.date!r}.", file=sys.stderr)
        return 2

    async def run(pool: asyncpg.Pool) -> int:
        try:
            result = await digest.run_digest_by_slug(pool, settings, args.conference, day)
        except ConferError as e:
            for message in e.fields.values() or [e.message]:
                print(message, file=sys.stderr)
            return 1
        print(
            f"Digest of {args.conference} for {result.day.isoformat()}: {result.emails} "
            f"email(s) queued now, {result.total_emails} in all for that day."
        )
        return 0

    return asyncio.run(_with_pool(settings, run, create_embedded=args.create_embedded))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="confer", description="Confer: online conferences for councils."
    )
    p.add_argument("--version", action="version", version=f"confer {__version__}")
    p.add_argument(
        "--create-embedded",
        action="store_true",
        help="without DATABASE_URL, let a command other than serve create a new embedded "
        "database (by default it refuses: a server on DATABASE_URL would never see it)",
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the web server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    s.add_argument("--demo", action="store_true", help="load the demo conference if absent")
    s.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="load the demo conference").set_defaults(func=cmd_demo)

    user = sub.add_parser("user", help="manage users").add_subparsers(
        dest="user_command", required=True
    )
    uc = user.add_parser("create", help="create a user")
    uc.add_argument("--email", required=True)
    uc.add_argument("--name", required=True)
    uc.add_argument("--password", help="or set CONFER_PASSWORD, or type it when asked")
    uc.add_argument("--admin", action="store_true", help="a site administrator")
    uc.set_defaults(func=cmd_user_create)

    token = sub.add_parser("token", help="API tokens").add_subparsers(
        dest="token_command", required=True
    )
    tc = token.add_parser("create", help="create a personal API token and print it")
    tc.add_argument("--email", required=True)
    tc.add_argument("--name", default="command line")
    tc.set_defaults(func=cmd_token_create)
    ex = sub.add_parser("export", help="export a conference's transcript")
    ex.add_argument("slug")
    ex.add_argument("--session", type=int, help="only this session")
    ex.add_argument("--thread", type=int, help="only this thread")
    ex.add_argument("--format", choices=["md", "html", "json", "csv"], default="md")
    ex.add_argument("-o", "--output", help="write to this file (default: standard output)")
    ex.add_argument("--include-hidden", action="store_true", help="include hidden posts")
    ex.add_argument("--moderation-log", action="store_true", help="add the moderation log")
    ex.set_defaults(func=cmd_export)
    dg = sub.add_parser("digest", help="queue a conference day's digest emails (idempotent)")
    dg.add_argument("--conference", required=True, metavar="SLUG")
    dg.add_argument(
        "--date", help="YYYY-MM-DD in the conference's timezone (default: yesterday there)"
    )
    dg.set_defaults(func=cmd_digest)
    return p


def main(argv: list[str] | None = None) -> int:
    from confer import observe

    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        observe.configure(settings.log_level, settings.log_format)
        return int(args.func(args, settings) or 0)
    except (Refused, StartupError, SettingError) as e:  # one line, not a traceback
        print(f"confer: {e}", file=sys.stderr)
        return 2
