"""Where a command's objects live: opening a store (a folder or a PostgreSQL URL), claiming it for one setup,
exporting it as a recording with the session that made it; a database URL is printed without its password."""

import shlex
import sys
from pathlib import Path

from simulator.cli.common import console, fail, user_errors
from simulator.pgstore import scrub_url

SETUP_KEY = "setup"


def where(location) -> str:
    """A store location as it may be printed: a database URL without its password."""
    return scrub_url(str(location))


def store_at(location):
    """The store at LOCATION (a folder or a PostgreSQL URL), or a clean error."""
    from simulator.store import open_store

    with user_errors():
        return open_store(location)


def claim_cache(store, manifest, cache_dir: Path) -> None:
    """A cache holds one (pool, agent, suite) setup, so its export is one coherent recording."""
    setup = {
        "pool": manifest.pool.model_dump(mode="json"),
        "agent": manifest.agent.model_dump(mode="json"),
        "suite": manifest.suite,
    }
    known = store.get(SETUP_KEY, SETUP_KEY)
    if known is None:
        store.put(SETUP_KEY, SETUP_KEY, setup)
    elif known != setup:
        fail(f"store {where(cache_dir)} was used with another pool, agent or suite; use another --store")


def export(store, manifest, out: Path, made_by: dict | None = None) -> None:
    """Write the store's objects and runs as a recording at OUT, merged with what is there; `made_by`: the
    session of this command."""
    from simulator.recording import export_store

    recording = export_store(store, manifest, out, made_by)
    console.print(f"wrote {out}: {len(recording.objects)} objects, {len(recording.manifest.runs)} runs")


def session(wall_sec: float) -> dict:
    """A manifest session of this command (a database URL in it without its password)."""
    from simulator.recording import session as recording_session

    return recording_session(scrub_url(shlex.join(["twinsim", *sys.argv[1:]])), wall_sec)
