"""The static track: labels on the quickstart, TwinRouterBench's metrics on hand-built banks, the gap, the kNN."""

import itertools
import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import INSTANCE, TEST_KEY, twinsim, write_agent, write_pool
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import bank as bankfmt
from simulator.cli import main
from simulator.config import TIER_IDS, Pool
from simulator.recording import load_recording, save_recording
from simulator.records import RunResult, StepTrace
from simulator.replay.context import LiveBudget, MissPolicy
from simulator.replay.engine import replay_trajectory
from simulator.replay.setup import Setup
from simulator.report.aggregate import build_report
from simulator.routers import knn
from simulator.routers.protocol import RouterDecision, RunConfig, make_context
from simulator.static import cost as static_cost
from simulator.static import gap as static_gap
from simulator.static import label as static_label
from simulator.static import score as static_score

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "recordings" / "quickstart"

# Round prices, so costs can be worked out by hand (USD per 1M tokens).
POOL = Pool.model_validate(
    {
        "name": "hand",
        "tiers": [
            {"name": "low", "model": "m/low", "pricing": {"input": 1, "cache_read": 0, "cache_write": 1, "output": 1}},
            {"name": "mid", "model": "m/mid", "pricing": {"input": 2, "cache_read": 0, "cache_write": 2, "output": 2}},
            {
                "name": "high",
                "model": "m/high",
                "pricing": {"input": 10, "cache_read": 1, "cache_write": 10, "output": 10},
            },
        ],
    }
)


def row(benchmark, instance, step, total, gold, messages):
    return {
        "id": f"{benchmark}_{instance}_step_{step}",
        "benchmark": benchmark,
        "instance_id": instance,
        "step_index": step,
        "total_steps": total,
        "messages": messages,
        "target_tier": gold,
        "target_tier_id": TIER_IDS[gold],
    }


U_A = {"role": "user", "content": "a"}
# Trajectory A/x has 2 rows, A/y and B/z one each. Every word here is 1 cl100k token, so a
# message costs 1 + 4 tokens and a list 2 more: [a] = 7 prompt tokens, [a, b, c] = 17.
BANK = [
    row("A", "x", 1, 2, "low", [U_A]),
    row("A", "x", 2, 2, "high", [U_A, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]),
    row("A", "y", 1, 1, "mid", [U_A]),
    row("B", "z", 1, 1, "low", [U_A]),
]
# Output tokens: x1 = the assistant message x2 adds (1 + 4 = 5); x2, the last, the mean of x's
# positive estimates (5); y1 and z1 have no next row: the 500-token fallback.
# Always-high costs (micro-USD): x1 cold 7*10 + 5*10 = 120; x2 warm (x1 was high, a prefix):
# read 7*1 + write 10*10 + 5*10 = 157; y1 and z1 cold 7*10 + 500*10 = 5070.
# So D_A = 120 + 157 + 5070 = 5347 and D_B = 5070.


class Table:
    """Answers a fixed tier per (instance, step); `raise` makes the router fail on that row."""

    def __init__(self, picks):
        self.picks = picks

    def select(self, ctx):
        tier = self.picks[ctx.instance_id][ctx.step_index]
        if tier == "raise":
            raise RuntimeError("no answer")
        return RouterDecision(tier)


def scores(picks, bank=BANK, pool=POOL):
    return static_score.metrics(static_score.predict(bank, pool, lambda key: lambda: Table(picks), label="table"))


def test_the_hand_built_bank_costs_what_the_comments_say():
    counter = static_cost.TokenCounter()
    assert counter.messages([U_A], "low") == 7 and counter.messages(BANK[1]["messages"], "high") == 17
    assert static_cost.output_tokens(BANK[:2], counter) == [5, 5]
    assert static_cost.output_tokens(BANK[2:3], counter) == [500]
    top = [
        s.top_usd * 1e6
        for s in static_score.predict(
            BANK, POOL, lambda key: lambda: Table({"x": ["high"] * 2, "y": ["high"], "z": ["high"]}), label="t"
        )
    ]
    assert top == pytest.approx([120, 157, 5070, 5070])


def test_metrics_of_a_router_that_passes_everywhere():
    s = scores({"x": ["low", "high"], "y": ["high"], "z": ["low"]})
    # Every row passes; y1 is above its gold, so 3 of 4 are exact.
    assert (s["rowpass"], s["rowexact"], s["trajpass"]) == (100, 75, 100)
    # Costs: x1 low cold 7 + 5 = 12; x2 high after a low step is cold: 17*10 + 5*10 = 220; y1 as top;
    # z1 low cold 7 + 500 = 507. N_A = (120 - 12) + (157 - 220) + 0 = 45; N_B = 5070 - 507 = 4563.
    # COSTSAVE weights benchmarks by rows: 3/4 * 100*45/5347 + 1/4 * 100*4563/5070 = 23.131...
    costsave = 0.75 * 100 * 45 / 5347 + 0.25 * 100 * 4563 / 5070
    assert s["costsave"] == pytest.approx(costsave)
    assert s["combined"] == pytest.approx((100 + 75 + 100 + costsave) / 4)
    assert s["by_benchmark"]["A"]["costsave"] == pytest.approx(100 * 45 / 5347)
    assert s["by_benchmark"]["B"]["costsave"] == pytest.approx(100 * 4563 / 5070)
    assert s["by_benchmark"]["A"]["rowexact"] == pytest.approx(200 / 3)


def test_trajpass_is_row_weighted_and_a_failing_trajectory_costs_its_whole_spend():
    s = scores({"x": ["low", "low"], "y": ["low"], "z": ["low"]})
    # Passing rows: x1 and z1 -> ROWPASS 50, ROWEXACT 50.
    assert (s["rowpass"], s["rowexact"]) == (50, 50)
    # TwinRouterBench's code: only z passes, 1 row of 4 -> 25 (per trajectory, as the paper reads, it would be 1/3).
    assert s["trajpass"] == 25
    # x fails, so x1's own saving (120 - 12) is not credited: x adds -(12 + 15) (x2 low, warm after x1:
    # write 10*1 + 5*1); y fails: -507. N_A = -534; z passes: N_B = 4563.
    assert s["costsave"] == pytest.approx(0.75 * 100 * -534 / 5347 + 0.25 * 100 * 4563 / 5070)


def test_a_router_error_fails_its_row_and_trajectory_and_leaves_the_cost_sums():
    s = scores({"x": ["low", "high"], "y": ["raise"], "z": ["low"]})
    assert (s["rowpass"], s["rowexact"], s["trajpass"], s["errors"]) == (75, 75, 75, 1)
    # y leaves D_A and N_A: D_A = 277, N_A = 45.
    assert s["costsave"] == pytest.approx(0.75 * 100 * 45 / 277 + 0.25 * 100 * 4563 / 5070)


def test_costsave_is_undefined_when_every_row_errs():
    s = scores({"x": ["raise", "raise"], "y": ["raise"], "z": ["raise"]})
    assert s["costsave"] is None and s["combined"] is None and s["rowpass"] == 0


banks = st.lists(
    st.tuples(
        st.sampled_from(["A", "B"]), st.integers(1, 3), st.sampled_from(["low", "mid", "high"]), st.integers(0, 3)
    ),
    min_size=1,
    max_size=12,
)


def _bank(spec):
    rows, steps = [], {}
    for benchmark, instance, gold, extra in spec:
        key = (benchmark, str(instance))
        steps[key] = steps.get(key, 0) + 1
        messages = [U_A] + [
            {"role": "assistant" if i % 2 == 0 else "user", "content": "b"} for i in range(2 * steps[key] + extra)
        ]
        rows.append(row(benchmark, str(instance), steps[key], 0, gold, messages))
    return rows


@settings(max_examples=40, deadline=None)
@given(banks, st.randoms(use_true_random=False))
def test_score_properties(spec, rng):
    bank = _bank(spec)
    top = scores({r["instance_id"]: ["high"] * 12 for r in bank}, bank)
    assert (top["rowpass"], top["trajpass"], top["costsave"]) == (
        100,
        100,
        0,
    )  # the top tier never fails and saves nothing
    assert top["rowexact"] == pytest.approx(100 * sum(r["target_tier"] == "high" for r in bank) / len(bank))
    picks = {r["instance_id"]: [rng.choice(["low", "mid", "high"]) for _ in range(12)] for r in bank}
    s = scores(picks, bank)
    assert s["trajpass"] <= s["rowpass"] and s["rowexact"] <= s["rowpass"] and s["costsave"] <= 100


def test_bank_bytes_are_canonical_and_ordered():
    text = bankfmt.bank_jsonl(list(reversed(BANK)))
    lines = text.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [r["id"] for r in BANK]
    assert lines[0] == json.dumps(BANK[0], sort_keys=True, separators=(",", ":"))


def test_twinrouterbench_rows_with_extra_fields_and_four_tiers(tmp_path):
    rows = [
        row("bfcl", "q1", 1, 1, "mid_high", [U_A])
        | {"scenario": "single_turn", "functions": [{"name": "f"}], "source": {"uri": "x"}},
        row("mtrag", "q2", 1, 2, "low", [U_A]),
        row("mtrag", "q2", 2, 2, "mid", [U_A, U_A]),
    ]
    bank = tmp_path / "question_bank.jsonl"
    bank.write_text(bankfmt.bank_jsonl(rows))
    result = json.loads(
        twinsim("static", "score", str(bank), "-r", "always:mid_high", "-r", "always:low", "--json", "-").stdout
    )
    mid_high, low = result["routers"]
    assert result["pool"] == "twinrouterbench" and result["bank"]["benchmarks"] == {"bfcl": 1, "mtrag": 2}
    assert (mid_high["rowpass"], mid_high["rowexact"], mid_high["trajpass"]) == (100, pytest.approx(100 / 3), 100)
    assert (low["rowpass"], low["trajpass"]) == (pytest.approx(100 / 3), 0)
    assert set(mid_high["by_benchmark"]) == {"bfcl", "mtrag"}


def test_bad_banks_and_specs_give_clear_errors(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "r1", "benchmark": "b", "messages": [], "target_tier": "top"}\n')
    good = tmp_path / "good.jsonl"
    good.write_text(bankfmt.bank_jsonl(BANK))
    for bank, args, message in [
        (bad, ["-r", "always:high"], "bad.jsonl:1: row 'r1'"),
        (good, ["-r", "knn:k=3"], "has no bank"),
        (good, ["-r", "always:top"], "unknown tier"),
        (good, ["-r", "knn:bank=nope.jsonl"], "no bank file"),
        (good, ["-r", "knn", "--holdout-by-instance", "9"], "needs at least 9 instances"),
        (good, ["-r", "knn", "--holdout-by-instance", "2", "--train", str(good)], "not both"),
    ]:
        result = CliRunner().invoke(main, ["static", "score", str(bank), *args])  # in process: error paths only
        assert result.exit_code != 0 and message in result.output, result.output
        assert isinstance(result.exception, SystemExit)  # a clean exit, no traceback


# --- kNN ----------------------------------------------------------------------------------


def _rows(instance, gold, text, n=2):
    return [row("b", instance, i + 1, n, gold, [{"role": "user", "content": f"{text} step {i}"}]) for i in range(n)]


def knn_select(bank, k, text, pool=POOL):
    router = knn.KnnRouter(knn.KnnIndex(bank), k, pool)
    ctx = make_context(
        instance_id="q",
        step_index=0,
        messages=[{"role": "user", "content": text}],
        tools=(),
        pool=pool,
        cache_state=static_cost.StaticPath(pool, static_cost.TokenCounter()).cache_state(),
        budget_so_far_usd=0.0,
        run_config=RunConfig(250, 3.0, 300, 0.0),
    )
    return router.select(ctx).model_id


def test_knn_votes_by_nearest_rows_and_breaks_ties_to_the_cheaper_tier():
    bank = _rows("p", "high", "pytest traceback assertion failed") + _rows("q", "low", "ls cat readme listing")
    assert knn_select(bank, 1, "the pytest traceback shows an assertion") == "high"
    assert knn_select(bank, 1, "cat the readme") == "low"
    assert knn_select(bank, 4, "pytest traceback") == "low"  # 2 high, 2 low: the cheaper wins
    assert knn_select(bank, 3, "pytest traceback") == "high"


def test_knn_serves_a_missing_tier_with_the_next_stronger_one():
    bank = _rows("p", "mid_high", "alpha")
    assert knn_select(bank, 1, "alpha") == "high"  # the hand pool has no mid_high


def test_knn_held_out_by_instance_never_sees_its_own_rows(tmp_path):
    # Two instances with the same text and different labels: trained on itself knn is exact,
    # held out each instance gets the other's label.
    bank = tmp_path / "bank.jsonl"
    bank.write_text(
        bankfmt.bank_jsonl(
            _rows("p", "high", "alpha beta") + _rows("q", "low", "gamma delta") + _rows("r", "low", "alpha beta")
        )
    )
    pool = tmp_path / "pool.yaml"
    pool.write_text(json.dumps(POOL.model_dump()))

    def run(*args):
        result = CliRunner().invoke(main, ["static", "score", str(bank), "--pool", str(pool), "--json", "-", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    held_out = run("-r", "knn:k=1", "--holdout-by-instance", "3")
    assert held_out["evaluation"] == "knn held out by instance, 3 folds"
    # p learns from q and r: nearest is r's identical text (low) -> p fails; r learns from p and q:
    # nearest is p (high) -> passes, not exact; q shares only `step N` with p and r, which tie: the
    # earlier row, p's high -> passes, not exact.
    knn = held_out["routers"][0]
    assert (knn["rowpass"], knn["rowexact"]) == (pytest.approx(200 / 3), 0)
    trained = run("-r", f"knn:bank={bank},k=1")["routers"][0]
    assert trained["rowexact"] > knn["rowexact"]
    assert run("-r", "knn:k=1", "--train", str(bank))["routers"][0]["rowexact"] == trained["rowexact"]


# --- Spearman ------------------------------------------------------------------------------


def test_spearman_against_known_values():
    assert static_gap.spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) == pytest.approx(
        0.8207826816681233
    )  # scipy.stats.spearmanr's example
    assert static_gap.spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert static_gap.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert list(static_gap.average_ranks([10, 20, 20, 30, 5])) == [2, 3.5, 3.5, 5, 1]
    # Ties on both sides: ranks x = [1.5, 1.5, 3, 4], y = [1, 2.5, 2.5, 4] -> Pearson of the ranks.
    # Centred: dx = [-1, -1, .5, 1.5], dy = [-1.5, 0, 0, 1.5]; 3.75 / sqrt(4.5 * 4.5).
    assert static_gap.spearman([1, 1, 2, 3], [1, 2, 2, 3]) == pytest.approx(3.75 / 4.5)
    assert math.isnan(static_gap.spearman([1, 1, 1], [1, 2, 3])) and math.isnan(static_gap.spearman([1], [2]))


@given(st.lists(st.tuples(st.integers(-5, 5), st.integers(-5, 5)), min_size=2, max_size=20))
def test_spearman_is_symmetric_bounded_and_monotone_invariant(pairs):
    x, y = [a for a, _ in pairs], [b for _, b in pairs]
    rho = static_gap.spearman(x, y)
    if math.isnan(rho):
        return
    assert -1 - 1e-12 <= rho <= 1 + 1e-12
    assert static_gap.spearman(y, x) == pytest.approx(rho)
    assert static_gap.spearman([a**3 + 7 for a in x], y) == pytest.approx(rho)


# --- labels by downgrade-and-cascade ---------------------------------------------------------


def test_cascade_locks_steps_in_order_with_earlier_locks_in_force():
    tried = []

    step = StepTrace(
        step=0,
        tier="high",
        response="k",
        source="hit",
        cost_usd=0,
        input_tokens=0,
        cache_read_tokens=0,
        cache_write_tokens=0,
        output_tokens=0,
    )

    def run(schedule):  # a 3-step trajectory that resolves unless step 1 is below high
        tried.append(schedule)
        ok = len(schedule) < 2 or schedule[1] == "high"
        return static_label.Trial(
            schedule,
            RunResult(
                router="t",
                instance_id="i",
                status="resolved" if ok else "unresolved",
                exit_status="Submitted",
                steps=[step] * 3,
            ),
            [],
        )

    locks, final, trials = static_label.cascade(3, ("low", "mid", "high"), run)
    assert tried == [("low",), ("low", "low"), ("low", "mid"), ("low", "high", "low")]
    assert locks == ["low", "high", "low"] and final.schedule == ("low", "high", "low") and len(trials) == 4


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    d = tmp_path_factory.mktemp("labels")
    first = twinsim("label", str(QUICKSTART), "--out", str(d / "a.jsonl"), "--json", str(d / "a.json"))
    twinsim("label", str(QUICKSTART), "--out", str(d / "b.jsonl"))
    return {"dir": d, "stdout": first.stdout, "bank": d / "a.jsonl", "report": json.loads((d / "a.json").read_text())}


def test_label_writes_a_valid_deterministic_bank(labelled):
    assert labelled["bank"].read_bytes() == (labelled["dir"] / "b.jsonl").read_bytes()
    rows = bankfmt.load_bank(labelled["bank"])
    report = labelled["report"]
    resolved = [i for i in report["instances"] if i["seed"]["status"] == "resolved"]
    assert resolved and len(rows) == sum(i["seed"]["steps"] for i in resolved)  # always:high resolves something
    for steps in bankfmt.trajectories(rows).values():
        assert [r["step_index"] for r in steps] == list(range(1, len(steps) + 1))
        assert all(r["total_steps"] == len(steps) and set(bankfmt.BANK_FIELDS) <= set(r) for r in steps)
        assert all(TIER_IDS[r["target_tier"]] == r["target_tier_id"] for r in steps)
        # One final trajectory: each row's messages extend the previous row's.
        assert all(b["messages"][: len(a["messages"])] == a["messages"] for a, b in itertools.pairwise(steps))
        assert steps[0]["messages"][0]["role"] == "system"


def test_static_export_gives_the_label_bank(labelled, tmp_path):
    out = tmp_path / "exported.jsonl"
    result = twinsim("static", "export", str(QUICKSTART), "--out", str(out))
    assert out.read_bytes() == labelled["bank"].read_bytes()
    assert f"{labelled['report']['totals']['rows']} rows" in result.stdout


def test_label_reports_its_trials(labelled):
    totals = labelled["report"]["totals"]
    assert totals["trials"] == totals["exact"] + totals["live"] + totals["approximate"] + totals["incomplete"]
    assert totals["live"] == 0 and totals["live_usd"] == 0  # strict: nothing is computed
    for i in labelled["report"]["instances"]:
        assert len(i["trials"]) <= 2 * len(i["labels"])
        assert sum(t["accepted"] for t in i["trials"]) == sum(tier != "high" for tier in i["labels"])
        assert all(not t["accepted"] for t in i["trials"] if t["kind"] == "incomplete")
    assert f"{totals['trials']} trials: {totals['exact']} exact" in labelled["stdout"]
    assert f"{totals['incomplete']} incomplete (not accepted)" in labelled["stdout"]


def test_bank_messages_are_those_of_the_final_locked_trajectory(labelled):
    setup = Setup.from_recording(QUICKSTART)
    store = setup.open_store()
    for (_, instance_id), steps in bankfmt.trajectories(bankfmt.load_bank(labelled["bank"])).items():
        router = static_label.LockedRouter(tuple(r["target_tier"] for r in steps), "high")
        result = replay_trajectory(
            setup, "locked", setup.suite.instance(instance_id), store, LiveBudget(), router=router
        )
        assert result.status == "resolved" and len(result.steps) == len(steps)
        assert router.prefixes == [r["messages"] for r in steps]


def seed_only(folder: Path) -> str:
    """The quickstart with only the responses of its resolved all-top trajectory (no trial's): its instance."""
    recording = load_recording(QUICKSTART)
    seed = next(r for r in recording.manifest.runs if r.router == "always:high" and r.status == "resolved")
    used = {step.response for step in seed.steps}
    recording.objects = {(k, key): v for (k, key), v in recording.objects.items() if k != "response" or key in used}
    save_recording(recording, folder)
    return seed.instance_id


def test_label_live_misses_stop_at_the_spend_cap(tmp_path):
    """On a recording that holds only the seed trajectory, every trial misses, asks for a live call, and the cap
    (zero) refuses it: no trial is accepted and nothing is spent."""
    instance = seed_only(tmp_path / "seed-only")
    twinsim(
        "label",
        str(tmp_path / "seed-only"),
        "-i",
        instance,
        "--on-miss",
        "response=live",
        "--max-live-usd",
        "0",
        "--cache",
        str(tmp_path / "cache"),
        "--json",
        str(tmp_path / "labels.json"),
    )
    report = json.loads((tmp_path / "labels.json").read_text())
    assert report["policy"] == "response=live,observation=error,evaluation=error"
    trials = report["instances"][0]["trials"]
    assert len(trials) >= 2 and report["totals"]["live_usd"] == 0  # one trial per cheaper tier of the first step
    for t in trials:
        assert "live spend cap reached" in t["reason"], t
        assert t["kind"] == "incomplete" and not t["accepted"]


def test_approximate_trials_are_refused_unless_accepted_and_then_marked(tmp_path):
    """Every trial misses on the seed-only recording; approximately, each would pass at the cheapest tier."""
    instance = seed_only(tmp_path / "seed-only")
    args = ["label", str(tmp_path / "seed-only"), "-i", instance, "--on-miss", "approximate"]
    wide = {"COLUMNS": "300"}  # the notes on stderr on one line each
    refused = twinsim(*args, "--out", str(tmp_path / "strict.jsonl"), "--json", str(tmp_path / "strict.json"), env=wide)
    report = json.loads((tmp_path / "strict.json").read_text())
    trials = report["instances"][0]["trials"]
    assert report["accept_approximate"] is False and trials
    assert all(t["kind"] == "approximate" and not t["accepted"] for t in trials)
    assert set(report["instances"][0]["labels"]) == {"high"}  # nothing cheaper was shown to pass exactly
    assert "were not accepted (--accept-approximate" in refused.stderr
    assert all("approximate" not in row for row in bankfmt.load_bank(tmp_path / "strict.jsonl"))

    accepted = twinsim(*args, "--accept-approximate", "--out", str(tmp_path / "marked.jsonl"), env=wide)
    rows = bankfmt.load_bank(tmp_path / "marked.jsonl")
    assert rows and all(row["approximate"] is True for row in rows)
    assert f"{len(rows)} rows rest on approximate trials" in accepted.stderr


def test_label_extend_writes_its_session_into_the_recording(tmp_path):
    rec = tmp_path / "rec"
    shutil.copytree(QUICKSTART, rec)
    before = load_recording(rec)
    instance = next(r.instance_id for r in before.manifest.runs if r.router == "always:high" and r.status == "resolved")
    assert "--extend needs a policy" in twinsim("label", str(rec), "-i", instance, "--extend", check=False).stderr
    twinsim("label", str(rec), "-i", instance, "--on-miss", "live", "--extend", "--cache", str(tmp_path / "cache"))
    after = load_recording(rec)
    sessions = after.manifest.made_with["sessions"]
    assert sessions[:-1] == before.manifest.made_with["sessions"] and sessions[-1]["command"].startswith(
        "twinsim label"
    )
    assert after.objects.keys() >= before.objects.keys() and after.manifest.runs == before.manifest.runs


@pytest.mark.live
def test_a_live_trial_computes_its_misses_then_replays_exactly(tmp_path, smollm2_api_base, monkeypatch):
    """`label --on-miss live` runs trials like this one: misses go to the model, later trials hit."""
    monkeypatch.setenv("TWINSIM_TEST_KEY", TEST_KEY)
    pool, agent = (
        write_pool(tmp_path / "pool.yaml", smollm2_api_base),
        write_agent(tmp_path / "agent.yaml", step_limit=2),
    )
    twinsim(
        "record",
        "--pool",
        str(pool),
        "--agent",
        str(agent),
        "-r",
        "always:high",
        "-i",
        INSTANCE,
        "--out",
        str(tmp_path / "rec"),
        "--cache",
        str(tmp_path / "rec-cache"),
        "-q",
    )
    setup = Setup.from_recording(tmp_path / "rec", policy=MissPolicy.parse("live"), cache_dir=tmp_path / "cache")
    store, instance = setup.open_store(), setup.suite.instance(INSTANCE)
    live = static_label.run_trial(setup, instance, store, LiveBudget(), ("low",))
    assert live.kind == "live", live.result.reason
    assert live.result.live["response"] >= 1 and live.result.live_usd > 0
    assert live.result.steps[0].tier == "low" and all(step.tier == "high" for step in live.result.steps[1:])
    again = static_label.run_trial(replace(setup, policy=MissPolicy()), instance, store, LiveBudget(), ("low",))
    assert again.kind == "exact" and again.prefixes == live.prefixes and again.result.spend_usd == live.result.spend_usd


# --- static score and gap on the quickstart ------------------------------------------------


BUILTIN_ROUTERS = ["always:low", "always:mid", "always:high", "random:seed=1"]


def test_static_score_prints_every_metric_for_each_router(labelled):
    routers = [*BUILTIN_ROUTERS, f"knn:bank={labelled['bank']}"]
    out = twinsim(
        "static", "score", str(labelled["bank"]), "--pool", "local", *[a for r in routers for a in ("-r", r)]
    ).stdout
    for column in ("ROWPASS", "ROWEXACT", "TRAJPASS", "COSTSAVE", "COMBINED"):
        assert column in out
    for router in routers:
        line = next(line for line in out.splitlines() if router in line)
        assert len([cell for cell in line.split("│") if cell.strip()]) == 8  # router, rows, five metrics, errors


def test_gap_puts_static_scores_next_to_replay_and_correlates_them(labelled, tmp_path):
    args = [
        "gap",
        str(QUICKSTART),
        "--bank",
        str(labelled["bank"]),
        "-q",
        *[a for r in BUILTIN_ROUTERS for a in ("-r", r)],
    ]
    out = twinsim(*args, "--png", str(tmp_path / "gap.png"), "--json", str(tmp_path / "gap.json")).stdout
    assert "Spearman(COMBINED, −bill)" in out and "always:high" in out
    assert (tmp_path / "gap.png").read_bytes().startswith(b"\x89PNG")
    assert twinsim(*args, "--json", "-").stdout == (tmp_path / "gap.json").read_text()  # same bytes in another process
    gap = json.loads((tmp_path / "gap.json").read_text())
    # Strict replay reproduces the recorded runs (test_quickstart), so their aggregates are the dynamic side.
    runs = [
        RunResult.model_validate(r)
        for r in json.loads((QUICKSTART / "manifest.json").read_text())["runs"]
        if r["router"] in BUILTIN_ROUTERS
    ]
    dynamic = {a["router"]: a for a in build_report(runs, source={}, policy="error")["routers"]}
    assert [r["router"] for r in gap["routers"]] == BUILTIN_ROUTERS
    for r in gap["routers"]:
        assert (r["resolved_rate"], r["leaderboard_bill_usd"]) == (
            dynamic[r["router"]]["resolved_rate"],
            dynamic[r["router"]]["leaderboard_bill_usd"],
        )
    high = next(r for r in gap["routers"] if r["router"] == "always:high")
    assert (high["rowpass"], high["trajpass"], high["costsave"]) == (100, 100, 0)
    for rho in gap["spearman"].values():
        assert rho is None or -1 <= rho <= 1


def test_gap_marks_approximate_and_incomplete_replays_and_its_figure_is_a_png():
    runs = [
        RunResult(router=r, instance_id="i", status=status, exit_status="Submitted", steps=[], spend_usd=0.1)
        for r, status in (("a", "resolved"), ("b", "incomplete"))
    ]
    dynamic = build_report(runs, source={}, policy="error")["routers"]
    static = [
        {"router": "a", **dict.fromkeys(static_score.METRICS, 50.0)},
        {"router": "b", **dict.fromkeys(static_score.METRICS, None)},
    ]
    result = static_gap.gap(static, dynamic)
    assert result["spearman"]["combined_vs_bill"] is None  # one router has no COMBINED
    b = result["routers"][1]
    assert b["incomplete"] == 1 and b["resolved_rate_bounds"] == [0.0, 1.0] and b["leaderboard_bill_usd"] == 0.7
    assert result["caveat"].startswith("the dynamic side rests on 0 approximate and 1 incomplete trajectories (b)")
    assert static_gap.gap(static[:1], dynamic[:1])["caveat"] is None
    assert static_gap.gap_figure(result).startswith(b"\x89PNG")


def test_gap_labels_are_moved_apart_until_none_overlap():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set(xlim=(0, 100), ylim=(0, 10))
    labels = [
        ax.annotate(f"random:seed={i}", (2 + i * 0.3, 5 + i * 0.05), textcoords="offset points", xytext=(5, 3))
        for i in range(6)
    ]
    boxes = static_gap.separate_labels(fig, labels)
    assert len(boxes) == 6
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_knn_router_replays_on_the_quickstart(labelled):
    report = json.loads(
        twinsim("replay", str(QUICKSTART), "-r", f"knn:bank={labelled['bank']},k=3", "--json", "-", "-q").stdout
    )
    assert report["routers"][0]["n"] > 0
    assert all(step["rationale"].startswith("knn votes") for run in report["runs"] for step in run["steps"])
