"""The reference of `python -m bench live --reference`: a bare python-socketio server.

No database, no rendering, no permission checks: `POST /post` with {"room", "body"} takes the
next id, emits `post:new` ({"id", "seq", "html"}, the body as it came) to the room with the
stock AsyncServer and its default manager, and answers 201 {"id"}. A socket joins a room with
the `join` event ({"room"}) and gets the ack {"ok": true}, as Confer's clients do, so the
same Node load workers drive both. It runs as its own process on 127.0.0.1:

    python -m bench.reference_server PORT
"""

from __future__ import annotations

import itertools
import sys
from typing import Any

import socketio
from aiohttp import web


def make_app() -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=[])
    app = web.Application()
    sio.attach(app)
    ids = itertools.count(1)

    @sio.on("join")
    async def join(sid: str, data: Any) -> dict[str, Any]:
        room = data.get("room") if isinstance(data, dict) else None
        if not isinstance(room, str):
            return {"ok": False, "error": {"code": "bad_room"}}
        await sio.enter_room(sid, room)
        return {"ok": True}

    async def post(request: web.Request) -> web.Response:
        data = await request.json()
        post_id = next(ids)
        event = {"id": post_id, "seq": post_id, "html": data.get("body", "")}
        await sio.emit("post:new", event, room=data["room"])
        return web.json_response({"id": post_id}, status=201)

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_post("/post", post)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    web.run_app(make_app(), host="127.0.0.1", port=int(sys.argv[1]), print=None)


if __name__ == "__main__":
    main()
