"""`confer serve` speaking HTTPS itself (aiohttp's ssl_context): the direct-TLS case of
`python -m bench live --processes N` (bench/scale.py), which separates the cost of encryption
from the cost of nginx and Redis. Not a way to deploy Confer (docs/deploy.md puts nginx in
front).

    python -m bench.confer_tls CERT KEY serve --port PORT
"""

from __future__ import annotations

import ssl
import sys
from typing import Any


def main(argv: list[str]) -> int:
    cert, key, *rest = argv
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    from confer import cli, serving

    plain = serving.run

    def run(app: Any, **kwargs: Any) -> None:
        plain(app, ssl_context=context, **kwargs)

    serving.run = run  # cmd_serve looks it up when it runs
    return cli.main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
