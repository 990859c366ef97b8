"""`python -m bench <benchmark> [options]`, or `python -m bench all [--smoke]`.

Benchmarks:
  live    N socket clients in one thread, posts at a steady rate: delivery latency, lost and
          duplicated deliveries, server memory (`--curve` draws docs/perf-live-curve.svg)
  export  a conference of N posts exported as JSON and Markdown (CLI and HTTP)
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bench import export, live

BENCHMARKS = {"live": live, "export": export}


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
        status = module.main(margs) or status
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit(130)
