"""The benchmarks' CPU accounting (bench.common.cpu_sample / cpu_between / CpuMeter) cannot
come out negative when a process of the measured tree ends during the window.

`python -m bench search` once printed -11.1 ms of CPU a request: PostgreSQL's parallel workers
ended during the run, and the CPU of the processes alive at the end minus that of the
processes alive at the start lost theirs. Here a real child process uses CPU, is sampled,
then ends and is reaped by its parent (the measured tree's root) before the second sample.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ is not installed: it runs from the checkout
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

# A parent that starts a child which burns CPU until it has used 0.3 s, says so, and waits for
# a line on stdin; the parent passes its own stdin's lines on, then reaps the child and idles.
PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    CHILD = (
        "import sys, time\\n"
        "while time.process_time() < 0.3:\\n"
        "    pass\\n"
        "print('burnt', flush=True)\\n"
        "sys.stdin.readline()\\n"
    )
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    print(child.pid, flush=True)
    print(child.stdout.readline().strip(), flush=True)
    sys.stdin.readline()
    child.stdin.write("end\\n")
    child.stdin.flush()
    child.wait()
    print("reaped", flush=True)
    sys.stdin.readline()
    """
)


def old_tree_cpu(root: int) -> float:
    """What the benchmarks summed before: the CPU of the processes alive now."""
    return sum(common.proc_cpu_seconds(p) or 0.0 for p in common.process_tree(root))


def test_a_child_ending_mid_window_cannot_make_the_cpu_negative() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None and parent.stdin is not None
        child_pid = int(parent.stdout.readline())
        assert parent.stdout.readline().strip() == "burnt"
        before = common.cpu_sample(parent.pid)
        old_before = old_tree_cpu(parent.pid)
        assert any(pid == child_pid for pid, _ in before), "the child is part of the tree"
        meter = common.CpuMeter(server_pids=[parent.pid])
        meter.begin()

        parent.stdin.write("go\n")
        parent.stdin.flush()
        assert parent.stdout.readline().strip() == "reaped"
        after = common.cpu_sample(parent.pid)
        assert all(pid != child_pid for pid, _ in after), "the child has ended"

        # The old sum lost the child's CPU: the scenario is the one that went negative.
        assert old_tree_cpu(parent.pid) - old_before < 0
        assert common.cpu_between(before, after) >= 0
        cpu = meter.end(load_workers=0.0)
        assert cpu["server_cpu_seconds"] >= 0 and cpu["server_cores"] >= 0
        assert cpu["other_cores"] >= 0
        per = common.cpu_ms_per(cpu, 10)
        assert per["server"] is not None and per["server"] >= 0
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.wait(timeout=10)
        for pipe in (parent.stdin, parent.stdout):
            if pipe is not None:
                pipe.close()


def test_the_reaped_cpu_counts_only_its_part_in_the_window() -> None:
    """A child seen at the start with 3 s, ended and reaped with 5 s in all: 2 s in the window
    (plus the parent's own 1 s); one that started and ended inside the window counts whole."""
    parent, child = (100, 1.0), (101, 2.0)
    before = {parent: (10.0, 0.0), child: (3.0, 0.0)}
    after = {parent: (11.0, 5.0 + 0.5)}  # the child's 5 s and a short-lived one's 0.5 s
    assert common.cpu_between(before, after) == pytest.approx(1.0 + 2.0 + 0.5)


def test_an_orphan_ending_unreaped_loses_its_share_but_never_goes_negative() -> None:
    before = {(100, 1.0): (10.0, 0.0), (101, 2.0): (30.0, 0.0)}
    after = {(100, 1.0): (10.5, 0.0)}  # 101 ended, reaped by init: nobody here absorbed it
    assert common.cpu_between(before, after) == pytest.approx(0.5)
    # A pid reused by a new process is another process, not a shrunken old one.
    assert common.cpu_between({(7, 1.0): (9.0, 0.0)}, {(7, 5.0): (0.25, 0.0)}) == 0.25


def test_a_sample_of_a_process_that_has_ended_is_empty() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    assert common.cpu_sample(proc.pid, None) == {}
