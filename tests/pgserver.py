"""A real PostgreSQL server for tests: `initdb` + `pg_ctl` on a temporary directory, a port on 127.0.0.1.

The server binaries come from the Debian `postgresql` package. initdb refuses to run
as root, so as root the server runs as `nobody`. With TWINSIM_REQUIRE_SCALE set (CI),
a missing server or psycopg fails the tests instead of skipping them.
"""

import glob
import importlib.util
import os
import shutil
import subprocess
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import free_port

USER, PASSWORD = "twinsim", "pg-secret-5b1c"  # a real password: tests check it is never printed


def require(what: str) -> None:
    """Skip, or fail under TWINSIM_REQUIRE_SCALE (CI), when `what` is missing."""
    message = f"{what} (install: pip install 'twinsim[scale]'; apt-get install postgresql)"
    if os.environ.get("TWINSIM_REQUIRE_SCALE"):
        pytest.fail(f"TWINSIM_REQUIRE_SCALE is set but {message}", pytrace=False)
    pytest.skip(message)


def server_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@contextmanager
def postgres_server():
    """Yield the URL of a fresh server's `postgres` database (password authentication on)."""
    if importlib.util.find_spec("psycopg") is None:
        require("psycopg is not installed")
    bindir = server_bin()
    if bindir is None:
        require("no PostgreSQL server binaries (initdb)")
    root = Path(tempfile.mkdtemp(prefix="twinsim-pg-"))
    as_user = []
    if os.geteuid() == 0:  # initdb refuses root
        as_user = ["runuser", "-u", "nobody", "--"]
        shutil.chown(root, "nobody")
    (root / "pw").write_text(PASSWORD)
    if as_user:
        shutil.chown(root / "pw", "nobody")
    data, port = root / "data", free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True, timeout=120)
    run(str(bindir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={root / 'pw'}", "-A", "scram-sha-256", "-N")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    try:
        yield f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(server_url: str) -> str:
    """A new empty database on the server; its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + f"/{name}"
