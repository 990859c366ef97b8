"""A real ClamAV daemon for tests, with a signature database the test builds itself.

ClamAV's own signatures cannot be downloaded here, so the database holds one MD5 signature,
of the EICAR test file, made with `sigtool --md5` (STACK.md). clamd listens on a unix socket
in a temporary folder and runs in the foreground, so stopping it is stopping its process.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

# The standard anti-virus test file: harmless, and recognised as "infected" by design.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class Clamd:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="clamd-"))
        self.socket = str(self.dir / "clamd.sock")
        self.proc: subprocess.Popen | None = None
        db = self.dir / "db"
        db.mkdir()
        sample = self.dir / "eicar.com"
        sample.write_bytes(EICAR)
        signature = subprocess.run(
            ["sigtool", "--md5", str(sample)], check=True, capture_output=True
        ).stdout
        (db / "test.hdb").write_bytes(signature)
        self.config = self.dir / "clamd.conf"
        self.config.write_text(
            f"DatabaseDirectory {db}\n"
            f"LocalSocket {self.socket}\n"
            "Foreground yes\n"
            f"LogFile {self.dir / 'clamd.log'}\n"
            # Above Confer's largest file, so clamd never refuses a whole upload as too long.
            "StreamMaxLength 200M\n"
            f"TemporaryDirectory {self.dir}\n"
        )

    def start(self, timeout: float = 120) -> None:
        self.proc = subprocess.Popen(
            ["clamd", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.dir / "clamd.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"clamd exited with {self.proc.returncode}: {log}")
            if self.ping():
                return
            time.sleep(0.1)
        raise TimeoutError("clamd did not answer PING")

    def ping(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(1)
                s.connect(self.socket)
                s.sendall(b"zPING\0")
                return s.recv(16).startswith(b"PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        Path(self.socket).unlink(missing_ok=True)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# A small valid PDF, for uploads that must pass the type check.
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
