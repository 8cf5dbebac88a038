"""Static banks: TwinRouterBench's row format, one router-visible prefix per JSON line.

A row is `id, benchmark, instance_id, step_index (1-based), total_steps, messages,
target_tier, target_tier_id`; rows of one (benchmark, instance) form a trajectory.
"""

import json
from collections.abc import Iterable
from pathlib import Path

from simulator import keys
from simulator.config import TIER_IDS, Pool, Tier

BANK_FIELDS = (
    "id",
    "benchmark",
    "instance_id",
    "step_index",
    "total_steps",
    "messages",
    "target_tier",
    "target_tier_id",
)


def gold_tier_id(row: dict) -> int:
    tier, tier_id = row.get("target_tier"), row.get("target_tier_id")
    if tier_id is None and tier in TIER_IDS:
        return TIER_IDS[tier]
    if (
        not isinstance(tier_id, int)
        or tier_id not in TIER_IDS.values()
        or (tier is not None and TIER_IDS.get(tier) != tier_id)
    ):
        raise ValueError(
            f"row {row.get('id')!r}: target_tier {tier!r} / target_tier_id {tier_id!r} are not one of {TIER_IDS}"
        )
    return tier_id


def tier_ids(pool: Pool) -> dict[str, int]:
    """TwinRouterBench tier id of each pool tier, cheapest first."""
    unknown = [t for t in pool.names if t not in TIER_IDS]
    if unknown:
        raise ValueError(
            f"the static track needs TwinRouterBench tier names ({', '.join(TIER_IDS)}); pool {pool.name!r} has "
            f"{', '.join(unknown)}"
        )
    return {t: TIER_IDS[t] for t in pool.names}


def serving_tier(pool: Pool, tier_id: int) -> Tier:
    """The pool tier that serves a TwinRouterBench tier id: the cheapest at least as strong, else the top one."""
    ids = tier_ids(pool)
    return next((t for t in pool.tiers if ids[t.name] >= tier_id), pool.tiers[-1])


def load_bank(path: Path | str) -> list[dict]:
    """Rows of a bank file; extra fields are kept, missing `instance_id` / `step_index` default as TwinRouterBench."""
    rows = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{lineno}: not JSON ({e})") from None
        missing = (
            [f for f in ("id", "benchmark", "messages") if f not in row] if isinstance(row, dict) else ["a JSON object"]
        )
        if missing or not isinstance(row["messages"], list):
            raise ValueError(f"{path}:{lineno}: a bank row needs {', '.join(missing) or 'messages as a list'}")
        row.setdefault("instance_id", row["id"])
        row.setdefault("step_index", 1)
        try:
            gold_tier_id(row)
        except ValueError as e:
            raise ValueError(f"{path}:{lineno}: {e}") from None
        rows.append(row)
    if not rows:
        raise ValueError(f"{path}: the bank has no rows")
    return rows


def trajectories(rows: Iterable[dict]) -> dict[tuple[str, str], list[dict]]:
    """Rows grouped per (benchmark, instance_id) in step order; groups sorted."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["benchmark"], row["instance_id"]), []).append(row)
    return {key: sorted(groups[key], key=lambda r: r["step_index"]) for key in sorted(groups)}


def semantic(messages: list[dict]) -> list[dict]:
    """The messages' semantic fields only (role, content, tool calls; tool-call ids positional), as keys see them."""
    tool_ids: dict[str, str] = {}
    return [keys.normalize_message(m, tool_ids) for m in messages]


def bank_jsonl(rows: Iterable[dict]) -> str:
    """Deterministic bytes: rows in (benchmark, instance, step) order, canonical JSON lines."""
    ordered = [row for group in trajectories(rows).values() for row in group]
    return "".join(json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n" for row in ordered)
