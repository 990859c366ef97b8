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
NEEDS_REDIS = {"redis"}
# The deployment's programs (bench/deployment.py): nginx, redis-server, openssl.
DEPLOYMENT = ("nginx", "redis-server", "openssl")


def missing(programs: tuple[str, ...] | set[str]) -> list[str]:
    path = os.environ.get("PATH", "") + ":/usr/sbin"
    return [p for p in programs if shutil.which(p, path=path) is None]


def run_smoke(name: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    env = dict(os.environ)
    for var in ("DATABASE_URL", "XDG_RUNTIME_DIR"):  # a temporary embedded server of its own
        env.pop(var, None)
    out = subprocess.run(
        [sys.executable, "-m", "bench", name, "--smoke", *extra],
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
    if name in NEEDS_REDIS and missing({"redis-server"}):
        pytest.skip("needs redis-server")
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
    if name == "redis":  # every subscriber process got every event, once
        for step in record["results"]["steps"]:
            assert step["published"] > 0 and step["lost"] == 0 and step["duplicated"] == 0


def test_live_reference_and_processes_smoke() -> None:
    """`live --reference --processes 2,3`: the bare server, one process direct (plain HTTP,
    then HTTPS by itself), and nginx + Redis + 2 and 3 processes, in one run; every case's
    deliveries complete, with none lost or duplicated, and the ratios printed."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("needs node and npm")
    if lacking := missing(DEPLOYMENT):
        pytest.skip(f"needs {', '.join(lacking)}")
    out, path = run_smoke("live", "--reference", "--processes", "2,3")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    finally:
        path.unlink(missing_ok=True)
    cases = {c["case"]: c for c in record["results"]["cases"]}
    assert set(cases) == {
        "reference (bare python-socketio)",
        "direct (1 process)",
        "direct TLS (1 process, HTTPS itself)",
        "nginx+redis x2",
        "nginx+redis x3",
    }
    for case in cases.values():
        d = case["deliveries"]
        assert case["clients_joined"] > 0 and d["expected"] > 0, case
        assert d["lost"] == 0 and d["duplicated"] == 0 and d["unexpected"] == 0, case
    # Clients were spread: each deployed process held some of them.
    assert len(cases["nginx+redis x3"]["spread"]) == 3
    assert all(n > 0 for n in cases["nginx+redis x3"]["spread"]), cases["nginx+redis x3"]
    ratios = record["results"]["ratios"]
    assert set(ratios) == {
        "confer_vs_reference",
        "direct TLS (1 process, HTTPS itself)",
        "nginx+redis x2",
        "nginx+redis x3",
    }
    assert ratios["nginx+redis x2"]["cpu_per_delivery_vs_tls"] is not None
    assert re.search(r"^Confer / bare python-socketio: p99 ", out.stdout, re.MULTILINE)


def test_writes_processes_smoke() -> None:
    """`writes --processes 2`: direct, nginx + Redis + 1 and 2 processes; every accepted
    post found once in SQL in every case."""
    if lacking := missing(DEPLOYMENT):
        pytest.skip(f"needs {', '.join(lacking)}")
    out, path = run_smoke("writes", "--processes", "2")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    finally:
        path.unlink(missing_ok=True)
    cases = [c["case"] for c in record["results"]["cases"]]
    assert cases == ["direct (1 process)", "nginx+redis x1", "nginx+redis x2"]
    for case in record["results"]["cases"]:
        v = case["verify"]
        assert v["ok"] and v["accepted"] > 0 and v["missing"] == 0, case
    assert re.search(r"^nginx\+redis x2 / direct: posts/s ", out.stdout, re.MULTILINE)
