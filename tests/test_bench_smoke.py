"""Every benchmark's seconds-long `--smoke` variant runs to the end and writes a well-formed
record, so that bench/ does not rot. Nothing here times anything or compares a figure with a
target: the benchmarks are programs whose numbers are read by people (docs/performance.md).

Each runs as `python -m bench <name> --smoke`, exactly as a person would, in a subprocess that
starts its own server on 127.0.0.1 with a temporary embedded PostgreSQL and stops it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ is not installed: it runs from the checkout
    sys.path.insert(0, str(ROOT))

from bench.__main__ import BENCHMARKS  # noqa: E402

NEEDS_NODE = {"live", "memory"}  # socket.io-client in Node workers (installed by npm once)


def run_smoke(name: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    env = dict(os.environ)
    for var in ("DATABASE_URL", "XDG_RUNTIME_DIR"):  # a temporary embedded server of its own
        env.pop(var, None)
    out = subprocess.run(
        [sys.executable, "-m", "bench", name, "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, f"{out.stdout[-4000:]}\n{out.stderr[-4000:]}"
    paths = re.findall(r"^record: (\S+)$", out.stdout, re.MULTILINE)
    assert paths, out.stdout[-2000:]
    return out, ROOT / paths[-1]


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_smoke_variant_completes_and_writes_a_record(name: str) -> None:
    if name in NEEDS_NODE and not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("needs node and npm")
    out, path = run_smoke(name)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    finally:
        path.unlink(missing_ok=True)  # smoke records are not results worth keeping
    assert path.name.startswith(f"{name}-smoke-")
    assert record["benchmark"] == name
    machine = record["machine"]
    assert machine["nproc"] >= 1 and machine["python"]
    assert record["results"], "the record holds no results"
    # A table was printed for a person to read.
    assert re.search(r"^-+(  -+)+$", out.stdout, re.MULTILINE), out.stdout[-2000:]
    if name == "writes":  # every accepted post was found, once, in SQL afterwards
        check = record["results"]["verify"]
        assert check["ok"] and check["accepted"] > 0 and check["missing"] == 0
