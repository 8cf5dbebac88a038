"""TwinRouterBench run directories out of a replay, scored here with TwinRouterBench's own rules.

The scorer below re-implements `swerouter/leaderboard/score.py` (`score_run_dir`), its usage
normalisation (`swerouter/usage.py`, provider `openai_compat`) and its step cost
(`swerouter/pricing.py`), verbatim where the code allows; what it derives from the exported
files must equal twinsim's JSON report.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import twinsim

from simulator.report.trb import directory_names

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = "recordings/quickstart"

# --- TwinRouterBench, re-implemented ----------------------------------------------------------

FAILURE_PENALTY_USD: float = 0.60


@dataclass(frozen=True)
class UsageBuckets:
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int

    def __post_init__(self) -> None:
        for name, value in (
            ("input_tokens", self.input_tokens),
            ("cache_read_tokens", self.cache_read_tokens),
            ("cache_write_tokens", self.cache_write_tokens),
            ("output_tokens", self.output_tokens),
        ):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"UsageBuckets.{name} must be int, got {type(value).__name__}")
            if value < 0:
                raise ValueError(f"UsageBuckets.{name} must be non-negative, got {value}")


def _json_count(value: Any, *, field: str, provider: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        raise TypeError(f"usage.{field} from provider {provider!r} must be numeric, got bool")
    if isinstance(value, int):
        n = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"usage.{field} from provider {provider!r} must be whole-number tokens, got {value!r}")
        n = int(value)
    else:
        raise TypeError(f"usage.{field} from provider {provider!r} must be int or float, got {type(value).__name__}")
    if n < 0:
        raise ValueError(f"usage.{field} from provider {provider!r} is negative: {n}")
    return n


def _require_int(raw: Mapping[str, Any], key: str, *, provider: str) -> int:
    if key not in raw:
        raise ValueError(f"usage payload from provider {provider!r} missing required key {key!r}")
    return _json_count(raw[key], field=key, provider=provider)


def _optional_int(raw: Mapping[str, Any], key: str, *, provider: str) -> int:
    if key not in raw or raw[key] is None:
        return 0
    return _json_count(raw[key], field=key, provider=provider)


def _normalize_openai(raw: Mapping[str, Any], provider_label: str) -> UsageBuckets:
    pt_opt = _optional_int(raw, "prompt_tokens", provider=provider_label)
    ct_opt = _optional_int(raw, "completion_tokens", provider=provider_label)
    if pt_opt == 0 and ct_opt == 0:
        it = _optional_int(raw, "input_tokens", provider=provider_label)
        ot = _optional_int(raw, "output_tokens", provider=provider_label)
        if it or ot:
            prompt_tokens, completion_tokens = it, ot
        else:
            prompt_tokens = _require_int(raw, "prompt_tokens", provider=provider_label)
            completion_tokens = _require_int(raw, "completion_tokens", provider=provider_label)
    else:
        prompt_tokens = _require_int(raw, "prompt_tokens", provider=provider_label)
        completion_tokens = _require_int(raw, "completion_tokens", provider=provider_label)
    cached = 0
    cache_write = 0
    details = raw.get("prompt_tokens_details")
    if isinstance(details, Mapping):
        cached = _optional_int(details, "cached_tokens", provider=provider_label)
        cache_write = _optional_int(details, "cache_write_tokens", provider=provider_label)
    elif details is not None:
        raise TypeError(
            f"usage.prompt_tokens_details from provider {provider_label!r} must be object, got {type(details).__name__}"
        )
    billed_prefix = cached + cache_write
    if billed_prefix > prompt_tokens:
        raise ValueError(
            f"usage cached_tokens+cache_write_tokens ({cached}+{cache_write}) exceeds "
            f"prompt_tokens ({prompt_tokens}) for provider {provider_label!r}"
        )
    return UsageBuckets(
        input_tokens=prompt_tokens - billed_prefix,
        cache_read_tokens=cached,
        cache_write_tokens=cache_write,
        output_tokens=completion_tokens,
    )


def normalize_usage(provider: str, raw_usage: Mapping[str, Any] | None) -> UsageBuckets:
    assert provider == "openai_compat"  # every pool entry of TwinRouterBench's (and of these exports)
    if raw_usage is None:
        raise ValueError(f"provider {provider!r} returned no usage payload")
    return _normalize_openai(raw_usage, provider)


def step_real_cost_usd(usage: UsageBuckets, pricing: dict) -> float:
    return (
        usage.input_tokens * pricing["input_per_m"]
        + usage.cache_read_tokens * pricing["cache_read_per_m"]
        + usage.cache_write_tokens * pricing["cache_write_per_m"]
        + usage.output_tokens * pricing["output_per_m"]
    ) / 1_000_000.0


def load_pricing_table(path: Path) -> dict:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["schema_version"] in range(1, 13)
    assert all(k in doc for k in ("fetched_at", "currency", "unit", "pricing")) and doc["pricing"]
    for entry in doc["pricing"].values():
        assert all(
            isinstance(entry[k], int | float) and not isinstance(entry[k], bool) and entry[k] >= 0
            for k in ("input_per_m", "output_per_m", "cache_read_per_m", "cache_write_per_m")
        )
        assert isinstance(entry["source_url"], str) and entry["source_url"]
    return doc["pricing"]


def load_model_pool(path: Path) -> list[dict]:
    pool = json.loads(path.read_text(encoding="utf-8"))["pool"]
    assert pool and sum(1 for p in pool if p.get("is_high_baseline")) == 1
    assert all(isinstance(p["model_id"], str) and p["model_id"] and isinstance(p["provider"], str) for p in pool)
    return pool


def _iter_trace_steps(trace_path: Path) -> list[dict]:
    """Return only the step records (no loop_summary marker row)."""
    if not trace_path.is_file():
        raise FileNotFoundError(f"trace file missing: {trace_path}")
    steps: list[dict] = []
    for raw in trace_path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        row = json.loads(line)
        if "__marker__" in row:
            continue
        steps.append(row)
    return steps


def _repriced_router(steps: list[dict], *, provider_by_model: dict[str, str], pricing: dict) -> float:
    steps_sorted = sorted(steps, key=lambda s: int(s["step_index"]))
    router_actual = 0.0
    for s in steps_sorted:
        model_id = s.get("model_id")
        if not isinstance(model_id, str) or model_id not in provider_by_model:
            raise KeyError(f"repricing: trace step has missing/unknown model_id {model_id!r}")
        raw = s.get("raw_usage")
        if not isinstance(raw, Mapping):
            raise ValueError(f"repricing: step missing raw_usage mapping (model_id={model_id!r})")
        buckets = normalize_usage(provider_by_model[model_id], dict(raw))
        router_actual += step_real_cost_usd(buckets, pricing[model_id])
    return router_actual


def score_run_dir(run_dir: Path, *, reprice_from_raw_usage: bool = False) -> dict:
    """`score_run_dir` with the run directory's own pricing files, no exclusions, no allowlist."""
    pricing = load_pricing_table(run_dir / "model_pricing.json")
    provider_by_model = {p["model_id"]: p["provider"] for p in load_model_pool(run_dir / "model_pool.json")}
    per_instance, total_bill, total_router_cost, resolved_count = [], 0.0, 0.0, 0
    for rp in sorted((run_dir / "results").glob("*.json")):
        blob = json.loads(rp.read_text(encoding="utf-8"))
        instance_id = blob["instance_id"]
        resolved = bool(blob.get("resolved", False))
        trace_path = Path(blob.get("trace_path") or "")
        if not trace_path.is_absolute():
            trace_path = (run_dir / trace_path).resolve()
        if not trace_path.is_file():
            fallback = run_dir / f"{instance_id}.trace.jsonl"
            if fallback.is_file():
                trace_path = fallback.resolve()
        steps = _iter_trace_steps(trace_path)
        if reprice_from_raw_usage:
            router_actual = _repriced_router(steps, provider_by_model=provider_by_model, pricing=pricing)
        else:
            router_actual = sum(float(s.get("step_cost_usd", 0.0)) for s in steps)
        penalty = 0.0 if resolved else FAILURE_PENALTY_USD
        instance_bill = router_actual + penalty
        per_instance.append(
            {"instance_id": instance_id, "resolved": resolved, "router_actual_cost_usd": router_actual,
             "agent_error": blob.get("agent_error"), "step_count": len(steps)}
        )  # fmt: skip
        total_bill += instance_bill
        total_router_cost += router_actual
        resolved_count += resolved
    return {
        "total_leaderboard_bill_usd": total_bill,
        "total_router_cost_usd": total_router_cost,
        "resolved_count": resolved_count,
        "instance_count": len(per_instance),
        "per_instance": per_instance,
    }


# --- the exports ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("trb")
    twinsim("replay", QUICKSTART, "--trb-dir", str(out / "dirs"), "--json", str(out / "report.json"), "-q", cwd=ROOT)
    return {"dirs": out / "dirs", "report": json.loads((out / "report.json").read_text()), "root": out}


def test_twinrouterbench_s_scorer_gives_the_report_s_spend_bill_and_resolved(exported):
    report, dirs = exported["report"], exported["dirs"]
    index = json.loads((dirs / "index.json").read_text())["routers"]
    assert list(index) == [a["router"] for a in report["routers"]] and len(index) == 5
    runs = {(r["router"], r["instance_id"]): r for r in report["runs"]}
    for aggregate in report["routers"]:
        run_dir = dirs / index[aggregate["router"]]
        for reprice in (False, True):
            score = score_run_dir(run_dir, reprice_from_raw_usage=reprice)
            assert score["instance_count"] == aggregate["n"] == 16
            assert score["resolved_count"] == aggregate["resolved"]
            assert score["total_router_cost_usd"] == pytest.approx(aggregate["router_cost_usd"], abs=1e-9)
            assert score["total_leaderboard_bill_usd"] == pytest.approx(aggregate["leaderboard_bill_usd"], abs=1e-9)
            for instance in score["per_instance"]:
                run = runs[(aggregate["router"], instance["instance_id"])]
                assert instance["router_actual_cost_usd"] == pytest.approx(run["spend_usd"], abs=1e-12)
                assert instance["step_count"] == len(run["steps"])
    assert sum(a["resolved"] for a in report["routers"]) == 1  # always:high on wordfreq: something to count


def test_trace_rows_carry_the_steps_of_the_report(exported):
    report, dirs = exported["report"], exported["dirs"]
    run = next(r for r in report["runs"] if r["router"] == "random:seed=1" and r["instance_id"] == "twinsim__slugger-1")
    lines = (dirs / "random_seed=1" / "twinsim__slugger-1.trace.jsonl").read_text().splitlines()
    *rows, summary = [json.loads(line) for line in lines]
    assert [r["step_index"] for r in rows] == list(range(len(run["steps"])))
    cumulative = 0.0
    for row, step in zip(rows, run["steps"]):
        cumulative += step["cost_usd"]
        assert row["model_id"] == step["tier"]  # the pool's model ids (local: the tier names)
        assert (row["started_at"], row["finished_at"]) == (step["started_at"], step["finished_at"])
        assert row["usage"] == {k: step[k] for k in ("input_tokens", "cache_read_tokens", "cache_write_tokens",
                                                    "output_tokens")}  # fmt: skip
        assert normalize_usage("openai_compat", row["raw_usage"]) == UsageBuckets(**row["usage"])
        assert (row["step_cost_usd"], row["cumulative_cost_usd"]) == (step["cost_usd"], cumulative)
        assert row["cache_lookup"]["hit"] == (step["cache_lookup"] == "prefix_match") == (step["cache_read_tokens"] > 0)
        assert row["rationale"] == step["rationale"] and row["provider"] == "openai_compat"
    assert all(a["finished_at"] <= b["started_at"] for a, b in zip(rows, rows[1:]))  # the virtual clock moves on
    assert summary["__marker__"] == "loop_summary" and summary["step_count"] == len(rows)
    result = json.loads((dirs / "random_seed=1" / "results" / "twinsim__slugger-1.json").read_text())
    assert result["trace_path"] == "twinsim__slugger-1.trace.jsonl"  # relative: the directory moves whole
    assert result["finished_by"] == run["exit_status"] and result["agent_error"] is None
    assert result["extra"]["twinsim"] == {"router": "random:seed=1", "fidelity": "exact", "sample": 0,
                                          "status": run["status"]}  # fmt: skip
    assert sum(result["model_distribution"].values()) == len(rows)


def test_export_trb_writes_the_same_directories_from_the_json_report(exported):
    again = exported["root"] / "again"
    twinsim("export-trb", str(exported["root"] / "report.json"), str(again))
    first = {p.relative_to(exported["dirs"]): p.read_bytes() for p in exported["dirs"].rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert first == second and len(first) == 1 + 5 * (3 + 2 * 16)


def test_an_incomplete_run_is_unresolved_with_its_reason(tmp_path):
    # round-robin was never recorded: strictly replayed it misses, and the trajectory ends incomplete.
    twinsim("replay", QUICKSTART, "-r", "round-robin", "-i", "twinsim__tempconv-1", "--trb-dir", str(tmp_path / "d"),
            "--json", str(tmp_path / "r.json"), "-q", cwd=ROOT)  # fmt: skip
    report = json.loads((tmp_path / "r.json").read_text())
    (run,) = report["runs"]
    assert run["status"] == "incomplete" and run["reason"]
    score = score_run_dir(tmp_path / "d" / "round-robin", reprice_from_raw_usage=True)
    (instance,) = score["per_instance"]
    assert instance["agent_error"] == f"Incomplete: {run['reason']}" and not instance["resolved"]
    assert score["total_leaderboard_bill_usd"] == pytest.approx(run["spend_usd"] + 0.60, abs=1e-12)
    assert score["total_leaderboard_bill_usd"] == pytest.approx(report["routers"][0]["leaderboard_bill_usd"], abs=1e-9)
    result = json.loads((tmp_path / "d" / "round-robin" / "results" / "twinsim__tempconv-1.json").read_text())
    assert result["extra"]["twinsim"]["fidelity"] == "incomplete"


def test_bad_targets_and_old_reports_are_clear_errors(exported, tmp_path):
    taken = twinsim("export-trb", str(exported["root"] / "report.json"), str(exported["dirs"]), check=False)
    assert taken.returncode != 0 and "is not an empty directory" in taken.stderr
    old = exported["report"] | {"source": {"name": "quickstart"}}
    (tmp_path / "old.json").write_text(json.dumps(old))
    refused = twinsim("export-trb", str(tmp_path / "old.json"), str(tmp_path / "out"), check=False)
    assert refused.returncode != 0 and "names no pool" in refused.stderr and not (tmp_path / "out").exists()


def test_directory_names_are_safe_and_distinct():
    names = directory_names(["always:high", "always/high", "http://h:1/select#t=2", "..", "examples/r.py:R"])
    assert list(names.values()) == ["always_high", "always_high-2", "http_h_1_select_t=2", "router", "examples_r.py_R"]
