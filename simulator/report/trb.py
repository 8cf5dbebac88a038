"""TwinRouterBench run directories from a report: what its leaderboard scorer (`swerouter/leaderboard/score.py`) reads.

One directory per router, in the layout its mini-swe-agent harness writes:

    DIR/index.json                                    router label -> its directory
    DIR/<router>/results/<instance_id>.json           its InstanceResult fields; trace_path relative
    DIR/<router>/<instance_id>.trace.jsonl            one row per model step, then the loop_summary row
    DIR/<router>/model_pool.json, model_pricing.json, ttl_policy.json   the pool the steps were priced with

Score one with TwinRouterBench (`--reprice-from-raw-usage` reprices every step from
its `raw_usage` and these pricing files, and gives the same spend):

    twinrouterbench dynamic score --run-dir DIR/<router> --router-label <router> \\
        --pool DIR/<router>/model_pool.json --pricing DIR/<router>/model_pricing.json

Model ids are the pool's `model_id`s. `raw_usage` is OpenAI-shaped (what every pool
entry's provider, `openai_compat`, normalises): prompt tokens = input + cache read +
cache write, `prompt_tokens_details` holds the read and written ones. Step times are
the replay's virtual clock; `cache_lookup` is the replay's own lookup (as TwinRouterBench's
editor loop writes it; its mini-swe-agent harness writes hit = "called before"). The
report does not hold the patch or the grading's test counts, so `patch` and the
FAIL_TO_PASS / PASS_TO_PASS counts are null and `patch_applied` is true only for a
resolved instance. An incomplete run is unresolved
with the reason in `agent_error`; `extra` holds twinsim's fidelity, sample and status.
"""

import json
import re
from pathlib import Path

from simulator.config import Pool
from simulator.replay.promptcache import WARM

PROVIDER = "openai_compat"
POOL_SCHEMA, PRICING_SCHEMA = 10, 12  # versions TwinRouterBench's loaders accept


def _json(obj) -> str:
    return json.dumps(obj, indent=2)


def pool_files(pool: Pool) -> dict[str, str]:
    """model_pool.json, model_pricing.json and ttl_policy.json of `pool` (the top tier is the high baseline)."""
    top = pool.tiers[-1].name
    entries = [
        {"model_id": t.model_id, "provider": PROVIDER, "cache_control_style": None, "is_high_baseline": t.name == top}
        for t in pool.tiers
    ]
    pricing = {
        t.model_id: {
            "input_per_m": t.pricing.input,
            "output_per_m": t.pricing.output,
            "cache_read_per_m": t.pricing.cache_read,
            "cache_write_per_m": t.pricing.cache_write,
            "source_url": f"twinsim pool {pool.name}, tier {t.name}",
        }
        for t in pool.tiers
    }
    ttl = pool.cache_ttl_sec
    return {
        "model_pool.json": _json(
            {"schema_version": POOL_SCHEMA, "notes": f"twinsim pool {pool.name}", "pool": entries}
        ),
        "model_pricing.json": _json(
            {
                "schema_version": PRICING_SCHEMA,
                "fetched_at": f"twinsim pool {pool.name}",
                "currency": "USD",
                "unit": "per_1M_tokens",
                "pricing": pricing,
            }
        ),
        "ttl_policy.json": _json({"schema_version": 1, "policy_name": _ttl_name(ttl), "wallclock_ttl_sec": ttl}),
    }


def _ttl_name(ttl: int) -> str:
    return "WALLCLOCK_5MIN" if ttl == 300 else f"WALLCLOCK_{ttl}S"


def raw_usage(step: dict) -> dict:
    """The step's token buckets as an OpenAI / OpenRouter usage object."""
    prompt = step["input_tokens"] + step["cache_read_tokens"] + step["cache_write_tokens"]
    return {
        "prompt_tokens": prompt,
        "completion_tokens": step["output_tokens"],
        "total_tokens": prompt + step["output_tokens"],
        "prompt_tokens_details": {
            "cached_tokens": step["cache_read_tokens"],
            "cache_write_tokens": step["cache_write_tokens"],
        },
    }


def run_files(run: dict, pool: Pool) -> tuple[str, str]:
    """A run's results JSON and trace JSONL."""
    instance_id, rows, spend, distribution = run["instance_id"], [], 0.0, {}
    for step in run["steps"]:
        if step.get("started_at") is None:
            raise ValueError(
                f"run {run['router']} / {instance_id} has no step times: the report predates them; replay again"
            )
        model_id = pool.tier(step["tier"]).model_id
        spend += step["cost_usd"]
        distribution[model_id] = distribution.get(model_id, 0) + 1
        warm = step["cache_lookup"] == WARM
        rows.append(
            {
                "instance_id": instance_id,
                "step_index": step["step"],
                "started_at": step["started_at"],
                "finished_at": step["finished_at"],
                "model_id": model_id,
                "provider": PROVIDER,
                "rationale": step["rationale"],
                "latency_ms": round((step["finished_at"] - step["started_at"]) * 1000, 3),
                "usage": {k: step[k] for k in ("input_tokens", "cache_read_tokens", "cache_write_tokens")}
                | {"output_tokens": step["output_tokens"]},
                "raw_usage": raw_usage(step),
                "step_cost_usd": step["cost_usd"],
                "cumulative_cost_usd": spend,
                "cache_lookup": {
                    "hit": warm,
                    "reason": step["cache_lookup"],
                    "cached_prefix_token_count": step["cache_read_tokens"] if warm else 0,
                },
            }
        )
    error = f"Incomplete: {run['reason']}" if run["status"] == "incomplete" else None
    rows.append(
        {
            "__marker__": "loop_summary",
            "instance_id": instance_id,
            "step_count": len(run["steps"]),
            "finished_by": run["exit_status"],
            "total_router_cost_usd": spend,
            "error": error,
            "model_distribution": distribution,
        }
    )
    resolved = run["status"] == "resolved"
    result = {
        "instance_id": instance_id,
        "resolved": resolved,
        "patch": None,
        "patch_applied": resolved,
        "trace_path": f"{instance_id}.trace.jsonl",
        "step_count": len(run["steps"]),
        "total_router_cost_usd": spend,
        "finished_by": run["exit_status"],
        "model_distribution": distribution,
        "agent_error": error,
        "eval_error": None,
        "eval_report_path": None,
        "pool_fingerprint": "|".join(sorted(t.model_id for t in pool.tiers)),
        "pricing_schema_version": PRICING_SCHEMA,
        "ttl_policy_name": _ttl_name(pool.cache_ttl_sec),
        "fail_to_pass_pass_count": None,
        "fail_to_pass_fail_count": None,
        "pass_to_pass_pass_count": None,
        "pass_to_pass_fail_count": None,
        "extra": {
            "twinsim": {
                "router": run["router"],
                "fidelity": run["fidelity"],
                "sample": run["sample"],
                "status": run["status"],
            }
        },
    }
    trace = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return _json(result), trace


def directory_names(routers: list[str]) -> dict[str, str]:
    """A file-system-safe, distinct directory name per router label."""
    names: dict[str, str] = {}
    for router in routers:
        base = re.sub(r"[^A-Za-z0-9._=-]+", "_", router).strip("._")[:100] or "router"
        name, n = base, 1
        while name in names.values():
            n += 1
            name = f"{base}-{n}"
        names[router] = name
    return names


def check_target(out: Path) -> None:
    """The target must be new or empty: a stale results file would be scored with the new ones."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} exists and is not an empty directory; give a new one for the run directories")


def export_trb(report: dict, out: Path) -> dict[str, Path]:
    """Write one TwinRouterBench run directory per router of `report` under `out`; returns them by router."""
    pool_data = report.get("source", {}).get("pool")
    if pool_data is None:
        raise ValueError("the report names no pool (written before twinsim.report/3); replay again with --json")
    pool = Pool.model_validate(pool_data)
    check_target(out)
    routers = list(dict.fromkeys(run["router"] for run in report["runs"]))
    names = directory_names(routers)
    files: dict[Path, str] = {}
    for router, name in names.items():
        for filename, text in pool_files(pool).items():
            files[out / name / filename] = text
        for run in (r for r in report["runs"] if r["router"] == router):
            instance_id = run["instance_id"]
            if not re.fullmatch(r"[^/\\\0]+", instance_id) or instance_id in (".", ".."):
                raise ValueError(f"instance id {instance_id!r} cannot name a file")
            result_path = out / name / "results" / f"{instance_id}.json"
            if result_path in files:
                raise ValueError(f"router {router} ran {instance_id} twice (several samples?): one run per directory")
            files[result_path], files[out / name / f"{instance_id}.trace.jsonl"] = run_files(run, pool)
    files[out / "index.json"] = _json({"routers": names}) + "\n"
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return {router: out / name for router, name in names.items()}
