"""`python -m bench <benchmark> [options]`, or `python -m bench all [--smoke]`.

Benchmarks:
  live    N socket clients in one thread, posts at a steady rate: delivery latency, lost and
          duplicated deliveries, server memory (`--curve` draws docs/perf-live-curve.svg)
  export  a conference of N posts exported as JSON and Markdown (CLI and HTTP)
  writes  W concurrent writers posting through the JSON API: accepted posts/s, latency
  pages   R concurrent readers of a 5,000-post thread and the conference home: latency
  search  searches of 100,000 posts (rare, common, phrase, filtered) by page and API: latency
  memory  the server's memory with 1,000 socket.io clients connected to one thread
  startup `confer serve` on an existing embedded data folder: exec to the first 200 on /
  redis   socket.io events through Confer's Redis manager as processes are added: Redis's
          CPU per event, each process's, and the ceilings they imply
  files   a 50 MB file uploaded (multipart, streamed) and downloaded: MB/s, server peak memory
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bench import export, files, live, memory, pages, redis_ceiling, search, startup, writes

BENCHMARKS = {
    "live": live,
    "export": export,
    "writes": writes,
    "pages": pages,
    "search": search,
    "memory": memory,
    "startup": startup,
    "redis": redis_ceiling,
    "files": files,
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Confer benchmarks. Each starts its own server on 127.0.0.1 with a "
        "temporary database, stops by itself, prints a table and writes bench/results/*.json.",
    )
    sub = p.add_subparsers(dest="benchmark", required=True)
    for name, module in BENCHMARKS.items():
        sp = sub.add_parser(name, help=(module.__doc__ or "").splitlines()[0])
        module.add_arguments(sp)
    a = sub.add_parser("all", help="every benchmark with its defaults")
    a.add_argument("--smoke", action="store_true", help="the seconds-long variant of each (CI)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.benchmark != "all":
        return BENCHMARKS[args.benchmark].main(args)
    status = 0
    for name, module in BENCHMARKS.items():
        print(f"=== {name} ===", flush=True)
        margs = module.defaults()
        margs.smoke = args.smoke
        if name == "live" and not args.smoke:
            margs.curve = True  # 100..2,000 clients; redraws docs/perf-live-curve.svg
        status = module.main(margs) or status
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit(130)
