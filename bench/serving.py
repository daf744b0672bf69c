"""Running the service for a benchmark: a throw-away PostgreSQL database, the server process with an
intake key, its memory."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent / "petition-triage"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    return round(int(Path(f"/proc/{pid}/status").read_text().split("VmRSS:")[1].split()[0]) / 1024, 1)


@contextmanager
def throwaway_postgres(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database for the run, dropped afterwards; yields its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def served(env: dict, key_name: str) -> Iterator[tuple[str, str, int]]:
    """`petition-triage serve` on a free loopback port with `env`; yields (url, intake key, pid)."""
    key = subprocess.run([str(BIN), "keys", "create", "--name", key_name, "--role", "intake"], env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    port = free_port()
    server = subprocess.Popen([str(BIN), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError("the service did not become ready in 60 s")
        yield url, key, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)
