"""A store on PostgreSQL that many recorders share: content-addressed rows, idempotent puts, leases on live work.

One table `twinsim_objects (kind, key, value, checksum)`: the value is the object's
canonical JSON, the checksum its SHA-256. A put of a record kind inserts or does
nothing (the same key written by two machines is one row, never a conflict); `run`
and `setup` rows are replaced, as in a disk cache. Every read recomputes the
checksum and, for record kinds, the key from the value, like loading a recording.

A lease (`lease(kind, key)`) is a PostgreSQL advisory lock held by this process's
connection while it computes an object live: another recorder asking for the same
key waits, then reads the stored result. The server drops the lock when its
holder's connection dies (a killed recorder), so a lease never outlives its holder.
"""

import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from simulator.keys import canonical_json, sha256
from simulator.records import RECORD_TYPES, verify

SCHEMES = ("postgresql://", "postgres://")
TABLE = "twinsim_objects"
_CREATE_LOCK = 0x7457696E73696D  # one advisory lock id for creating the table (concurrent CREATEs race)
_PASSWORD = re.compile(r"((?:postgres|postgresql)://[^:/@\s]*:)[^@\s]*@")


def is_database_url(location) -> bool:
    return isinstance(location, str) and location.startswith(SCHEMES)


def scrub_url(text: str) -> str:
    """`text` with the password of every PostgreSQL URL in it replaced by `***`."""
    return _PASSWORD.sub(r"\1***@", text)


class StoreCorrupt(ValueError):
    pass


class PostgresStore:
    """The Store protocol on one PostgreSQL table; safe to share between processes and machines."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg  # noqa: F401  (the optional `scale` extra)
        except ImportError:
            raise ValueError("a PostgreSQL store needs psycopg: pip install 'twinsim[scale]'") from None
        self.url = url
        self._local = threading.local()  # a connection per thread and process: leases block their connection
        conn = self.connection()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_LOCK,))
            conn.execute(
                f'CREATE TABLE IF NOT EXISTS {TABLE} (kind text NOT NULL, key text COLLATE "C" NOT NULL, '
                "value text NOT NULL, checksum text NOT NULL, PRIMARY KEY (kind, key))"
            )

    def __repr__(self) -> str:
        return f"PostgresStore({scrub_url(self.url)!r})"

    def __getstate__(self) -> dict:
        return {"url": self.url}  # connections do not cross processes

    def __setstate__(self, state: dict) -> None:
        self.url, self._local = state["url"], threading.local()

    def connection(self):
        """This thread's connection (a new one after a fork)."""
        import psycopg

        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or self._local.pid != os.getpid():
            try:
                # Keepalives: a lease held by a machine that vanished is dropped within about a minute.
                conn = psycopg.connect(
                    self.url, autocommit=True, keepalives=1, keepalives_idle=20, keepalives_interval=5
                )
            except psycopg.OperationalError as e:
                raise ValueError(f"cannot connect to {scrub_url(self.url)}: {scrub_url(str(e)).strip()}") from None
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def get(self, kind: str, key: str) -> dict | None:
        row = (
            self.connection()
            .execute(f"SELECT value, checksum FROM {TABLE} WHERE kind = %s AND key = %s", (kind, key))
            .fetchone()
        )
        return None if row is None else _verified(kind, key, *row)

    def put(self, kind: str, key: str, value: dict) -> None:
        self.put_many({(kind, key): value})

    def put_many(self, objects: dict[tuple[str, str], dict]) -> None:
        """Several objects in one transaction: all or none of them survive a crash."""
        rows = [(kind, key, canonical_json(value).decode()) for (kind, key), value in objects.items()]
        records = [(kind, key, text, sha256(text)) for kind, key, text in rows if kind in RECORD_TYPES]
        others = [(kind, key, text, sha256(text)) for kind, key, text in rows if kind not in RECORD_TYPES]
        insert = f"INSERT INTO {TABLE} (kind, key, value, checksum) VALUES (%s, %s, %s, %s) ON CONFLICT (kind, key) "
        conn = self.connection()
        with conn.transaction(), conn.cursor() as cursor:
            if records:  # content-addressed: the first row stands, a second put of the same key is a no-op
                cursor.executemany(insert + "DO NOTHING", records)
            if others:  # runs and the setup are replaced, as in a disk cache
                replace = "DO UPDATE SET value = EXCLUDED.value, checksum = EXCLUDED.checksum"
                cursor.executemany(insert + replace, others)

    def contains(self, kind: str, key: str) -> bool:
        query = f"SELECT 1 FROM {TABLE} WHERE kind = %s AND key = %s"
        return self.connection().execute(query, (kind, key)).fetchone() is not None

    def iter(self, kind: str) -> Iterator[tuple[str, dict]]:
        """Every object of `kind`, in key order, streamed through a server-side cursor."""
        import psycopg

        # Its own connection: the caller may read or write the store while iterating.
        with psycopg.connect(self.url) as conn, conn.cursor(name="twinsim_iter") as cursor:
            cursor.itersize = 1000
            cursor.execute(f"SELECT key, value, checksum FROM {TABLE} WHERE kind = %s ORDER BY key", (kind,))
            for key, text, checksum in cursor:
                yield key, _verified(kind, key, text, checksum)

    def count(self) -> int:
        return self.connection().execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]

    @contextmanager
    def lease(self, kind: str, key: str) -> Iterator[None]:
        """Hold (kind, key) against every other holder of this database while computing it; waits for a holder."""
        lock = int.from_bytes(bytes.fromhex(sha256(kind, key)[:16]), "big", signed=True)
        conn = self.connection()
        conn.execute("SELECT pg_advisory_lock(%s)", (lock,))
        try:
            yield
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (lock,))


def _verified(kind: str, key: str, text: str, checksum: str) -> dict:
    """The stored value, refused unless it matches its checksum and (for a record) its key."""
    where = f"{kind} {key[:12]}… in the PostgreSQL store"
    if sha256(text) != checksum:
        raise StoreCorrupt(f"{where}: content does not match its checksum")
    value = json.loads(text)
    if kind in RECORD_TYPES:
        try:
            verify(kind, key, value)
        except ValueError as e:  # pydantic's ValidationError is one
            raise StoreCorrupt(f"{where}: {e}") from None
    return value
