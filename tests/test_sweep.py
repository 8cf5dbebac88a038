"""Router sweeps: the curve metrics on hand-computed curves, and `twinsim sweep` on the quickstart."""

import json
import struct
from pathlib import Path

import pytest
from conftest import twinsim
from hypothesis import given
from hypothesis import strategies as st

from simulator.config import load_pool
from simulator.report.curves import (
    aiq,
    apgr,
    cpt,
    curve_metrics,
    hull_at,
    hull_cost_for,
    nondecreasing_hull,
    oracle_gap,
    pinned_curve,
)
from simulator.routers.protocol import RunConfig, make_context
from simulator.routers.registry import router_factory

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "recordings" / "quickstart"
BANK = ROOT / "recordings" / "quickstart-bank.jsonl"
LOCAL = load_pool("local")

# --- the metrics, by hand -------------------------------------------------------------------


def test_apgr_and_cpt_of_a_step_curve():
    # Weak resolves 20%, strong 60%; a router at 25% top-tier steps already resolves 60%:
    # PGR is 0 up to 25% (the pinned start and the point of equal quality), then jumps to 1.
    curve, outside = pinned_curve([(0.25, 0.2), (0.25, 0.6)], (0.0, 0.2), (1.0, 0.6))
    assert curve == [(0.0, 0.0), (0.25, 0.0), (0.25, 1.0), (1.0, 1.0)]
    assert outside == 0
    assert apgr(curve) == pytest.approx(0.75)  # 0.25 x 0 + 0.75 x 1
    assert cpt(curve, 0.5) == pytest.approx(0.25)
    assert cpt(curve, 0.8) == pytest.approx(0.25)


def test_cpt_interpolates_between_points_in_axis_units():
    # Spend axis: weak 0.01 USD resolving 0%, strong 0.05 USD resolving 100%; one router at 0.03 USD (u = 0.5)
    # resolving 25%. Curve (0, 0), (0.5, 0.25), (1, 1): APGR = 0.5*0.125 + 0.5*0.625 = 0.375;
    # CPT(50%) = 0.5 + 0.5 * 0.25/0.75 = 2/3 -> 0.01 + 2/3 * 0.04 USD; CPT(80%) = 0.5 + 0.5 * 0.55/0.75 = 13/15.
    metrics = curve_metrics(
        [_point("r", 0.03, 0.25)], _point("weak", 0.01, 0.0), _point("strong", 0.05, 1.0), oracles={}
    )["spend"]
    assert metrics["apgr"] == pytest.approx(0.375)
    assert metrics["cpt50"] == pytest.approx(0.01 + 2 / 3 * 0.04)
    assert metrics["cpt80"] == pytest.approx(0.01 + 13 / 15 * 0.04)
    assert metrics["outside_reference_range"] == 0


def test_aiq_of_a_known_hull():
    points = [(0, 0.1), (1, 0.5), (2, 0.4), (3, 0.9), (4, 0.8), (5, 0.9)]
    # Upper hull (0, .1) -> (1, .5) -> (3, .9): (2, .4) is below it, (4, .8) and (5, .9) are past the best point.
    assert nondecreasing_hull(points) == [(0, 0.1), (1, 0.5), (3, 0.9)]
    # Area 1 x 0.3 + 2 x 0.7 + flat 2 x 0.9 = 3.5 over a cost range of 5.
    assert aiq(points) == pytest.approx(0.7)
    assert aiq([(2, 0.3), (2, 0.1)]) == pytest.approx(0.3)  # one cost: the best quality there


def test_equally_costly_points_and_collinear_points():
    assert nondecreasing_hull([(0, 0), (1, 0.5), (1, 0.2), (2, 1)]) == [(0, 0), (2, 1)]  # (1, .5) is on the line
    assert nondecreasing_hull([(0, 0.4), (0, 0.1), (1, 0.2)]) == [(0, 0.4)]  # the cheapest is already the best


def test_oracle_gap_both_ways():
    hull = nondecreasing_hull([(0, 0.1), (1, 0.5), (3, 0.9)])
    assert hull_at(hull, 2) == pytest.approx(0.7)
    assert hull_cost_for(hull, 0.9) == pytest.approx(3)
    gap = oracle_gap(hull, (2, 0.9))  # an oracle resolving 90% at cost 2
    assert gap["quality_gap"] == pytest.approx(0.2)  # the hull gives 0.7 at cost 2
    assert gap["extra_cost"] == pytest.approx(1.0)  # and needs cost 3 for 0.9
    assert oracle_gap(hull, (2, 0.95)) == {"quality_gap": pytest.approx(0.25), "extra_cost": None}  # never reached
    assert oracle_gap(hull, (-1, 0.05))["quality_gap"] is None  # cheaper than any point


def test_no_gap_to_recover_and_points_outside_the_references():
    assert pinned_curve([(0.5, 0.3)], (0.0, 0.3), (1.0, 0.3)) is None  # strong no better than weak
    assert pinned_curve([(0.5, 0.3)], (0.2, 0.0), (0.2, 0.5)) is None  # references at the same cost
    curve, outside = pinned_curve([(1.5, 0.5), (-0.1, 0.0), (0.5, 0.25)], (0.0, 0.0), (1.0, 0.5))
    assert outside == 2 and curve == [(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)]


def test_no_gap_leaves_apgr_and_cpt_undefined_but_aiq_defined():
    metrics = curve_metrics([_point("r", 0.03, 0.0)], _point("weak", 0.01, 0.0), _point("strong", 0.05, 0.0), {})
    assert metrics["gap"] == 0.0
    assert metrics["spend"]["apgr"] is None and metrics["spend"]["cpt50"] is None
    assert metrics["spend"]["aiq"] == 0.0


def test_incomplete_points_are_left_out_and_approximate_ones_counted():
    points = [
        _point("a", 0.02, 0.5, approximate=3),
        _point("b", 0.03, 1.0, incomplete=1),  # would dominate everything: must not count
    ]
    metrics = curve_metrics(points, _point("weak", 0.01, 0.0), _point("strong", 0.05, 1.0), oracles={})
    assert (metrics["points"], metrics["approximate_points"], metrics["excluded_incomplete"]) == (1, 1, 1)
    assert metrics["approximate_references"] == metrics["incomplete_references"] == 0
    # Curve (0, 0), (0.25, 0.5), (1, 1): 0.25*0.25 + 0.75*0.75 = 0.625.
    assert metrics["spend"]["apgr"] == pytest.approx(0.625)


def _point(router: str, spend: float, rate: float, *, approximate: int = 0, incomplete: int = 0) -> dict:
    return {
        "router": router,
        "share": spend,
        "spend": spend,
        "resolved_rate": rate,
        "approximate": approximate,
        "incomplete": incomplete,
    }


coordinates = st.tuples(
    st.floats(0, 1, allow_nan=False).map(lambda v: round(v, 3)),
    st.floats(0, 1, allow_nan=False).map(lambda v: round(v, 3)),
)


@given(st.lists(coordinates, min_size=1, max_size=12))
def test_hull_is_nondecreasing_concave_and_above_every_point_it_spans(points):
    hull = nondecreasing_hull(points)
    assert all(y0 <= y1 for (_, y0), (_, y1) in zip(hull, hull[1:]))
    assert hull[-1][1] == max(y for _, y in points)
    for x, y in points:
        at = hull_at(hull, x)
        assert at is not None and at >= y - 1e-9
    slopes = [(y1 - y0) / (x1 - x0) for (x0, y0), (x1, y1) in zip(hull, hull[1:])]
    assert all(a >= b - 1e-9 for a, b in zip(slopes, slopes[1:]))
    assert min(y for _, y in points) - 1e-9 <= aiq(points) <= max(y for _, y in points) + 1e-9


# --- the per-step oracle: the gold-tier router --------------------------------------------


def _select(spec: str, instance: str, step: int) -> str:
    ctx = make_context(
        instance_id=instance,
        step_index=step,
        messages=[],
        tools=[],
        pool=LOCAL,
        cache_state={"wallclock_ttl_sec": 300, "now_ts": 0.0, "by_model": {}},
        budget_so_far_usd=0.0,
        run_config=RunConfig(max_steps=8, budget_usd=1.0, wallclock_ttl_sec=300, select_timeout_sec=5),
    )
    return router_factory(spec, LOCAL)().select(ctx).model_id


def test_gold_router_answers_the_banks_tier_per_step_and_else_where_it_has_none(tmp_path):
    rows = [
        {"id": "a1", "benchmark": "b", "instance_id": "a", "step_index": 1, "messages": [], "target_tier": "low"},
        {"id": "a2", "benchmark": "b", "instance_id": "a", "step_index": 2, "messages": [], "target_tier": "mid_high"},
    ]
    bank = tmp_path / "bank.jsonl"
    bank.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert [_select(f"gold:bank={bank}", "a", i) for i in range(3)] == ["low", "high", "high"]  # mid_high -> high
    assert _select(f"gold:bank={bank},else=mid", "other", 0) == "mid"
    assert _select(f"gold:bank={bank},else=mid", "a", 2) == "mid"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gold", "gold needs bank=PATH"),
        ("gold:bank=nope.jsonl", "no bank file"),
        (f"gold:bank={BANK},else=huge", "huge"),
        (f"gold:bank={BANK},k=3", "unknown parameter 'k'"),
    ],
)
def test_gold_router_bad_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        router_factory(spec, LOCAL)


def test_gold_router_replays_the_labelled_trajectory_exactly():
    """On the quickstart the bank labels wordfreq's first step `low`: the gold router resolves it for less."""
    result = twinsim("replay", str(QUICKSTART), "-q", "-r", f"gold:bank={BANK}", "-r", "always:high", "--json", "-")
    gold, high = json.loads(result.stdout)["routers"]
    assert gold["exact"] == 16 and gold["resolved"] == high["resolved"] == 1
    assert gold["tier_mix"]["low"] > 0 and gold["router_cost_usd"] < high["router_cost_usd"]


# --- twinsim sweep on the quickstart -------------------------------------------------------

FEW = ("-i", "twinsim__wordfreq-1", "-i", "twinsim__tempconv-1", "-i", "twinsim__pagekit-1")


def _sweep(*args: str) -> dict:
    return json.loads(twinsim("sweep", str(QUICKSTART), "-q", *FEW, *args, "--json", "-", cwd=ROOT).stdout)


def _trapezoid_apgr(sweep: dict, axis: str) -> float:
    """APGR recomputed from the sweep's own points, the plain way: normalise, pin, sort, trapezoids."""
    weak, strong = sweep["references"]["weak"], sweep["references"]["strong"]
    curve = [(0.0, 0.0), (1.0, 1.0)]
    for p in sweep["points"]:
        if not p["incomplete"]:
            u = (p[axis] - weak[axis]) / (strong[axis] - weak[axis])
            pgr = (p["resolved_rate"] - weak["resolved_rate"]) / (strong["resolved_rate"] - weak["resolved_rate"])
            if 0 <= u <= 1:
                curve.append((u, pgr))
    curve.sort()
    return sum((b[0] - a[0]) * (a[1] + b[1]) / 2 for a, b in zip(curve, curve[1:]))


@pytest.fixture(scope="module")
def sweep_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    files = {"json": folder / "sweep.json", "png": folder / "sweep.png", "html": folder / "sweep.html"}
    args = ["-r", "escalate", "--grid", "patience=1,2,3", "--on-miss", "approximate", "--bank", str(BANK)]
    result = twinsim(
        "sweep",
        str(QUICKSTART),
        "-q",
        *FEW,
        *args,
        *(a for k, p in files.items() for a in (f"--{k}", str(p))),
        cwd=ROOT,
    )
    return files, result.stdout


@pytest.fixture(scope="module")
def escalate_sweep(sweep_files):
    return json.loads(sweep_files[0]["json"].read_text())


def test_sweep_reports_every_point_references_oracles_and_baseline(escalate_sweep):
    s = escalate_sweep
    assert s["schema"] == "twinsim.sweep/1" and s["grid"] == {"patience": ["1", "2", "3"]}
    assert [p["router"] for p in s["points"]] == [f"escalate:patience={k}" for k in (1, 2, 3)]
    assert [p["settings"] for p in s["points"]] == [{"patience": k} for k in ("1", "2", "3")]
    assert [p["settings"]["weight"] for p in s["baseline"]] == [0.2, 0.4, 0.6, 0.8]
    assert s["baseline"][0]["router"] == "random:seed=0,weights=low:0.8/high:0.2"
    weak, strong = s["references"]["weak"], s["references"]["strong"]
    assert (weak["router"], weak["share"]) == ("always:low", 0.0) and (strong["router"], strong["share"]) == (
        "always:high",
        1.0,
    )
    # Only always:high resolves wordfreq; the per-instance oracle takes it there and the cheapest run elsewhere.
    assert strong["resolved"] == 1 and weak["resolved"] == 0
    oracle = s["oracles"]["per_instance"]
    assert oracle["resolved"] == 1 and oracle["spend"] < strong["spend"]
    assert s["oracles"]["per_step"]["router"] == f"gold:bank={BANK}" and s["oracles"]["per_step"]["resolved"] == 1
    # Every point is approximate here (escalate leaves the recorded paths): counted, not hidden.
    m = s["metrics"]["sweep"]
    assert m["points"] == 3 and m["approximate_points"] == sum(1 for p in s["points"] if p["approximate"]) > 0


def test_sweep_metrics_match_a_recomputation_from_its_points(escalate_sweep):
    for curve in ("sweep", "baseline"):
        s = escalate_sweep | {"points": escalate_sweep[curve if curve == "baseline" else "points"]}
        for axis in ("share", "spend"):
            assert s["metrics"][curve][axis]["apgr"] == pytest.approx(_trapezoid_apgr(s, axis), abs=1e-9)
    share = escalate_sweep["metrics"]["sweep"]["share"]
    points = [(0.0, 0.0), (1.0, 1 / 3)] + [(p["share"], p["resolved_rate"]) for p in escalate_sweep["points"]]
    assert share["aiq"] == pytest.approx(aiq(points))


def test_sweep_of_random_weights_strictly_leaves_incomplete_points_out():
    s = _sweep("-r", "random:seed=1", "--grid", "weights=low:3/high:1,low:1/high:3", "--baseline", "none")
    assert s["baseline"] == [] and s["metrics"]["baseline"] is None and s["oracles"]["per_step"] is None
    incomplete = sum(1 for p in s["points"] if p["incomplete"])
    assert incomplete > 0 and s["metrics"]["sweep"]["excluded_incomplete"] == incomplete
    assert s["metrics"]["sweep"]["points"] == len(s["points"]) - incomplete


def test_sweep_is_byte_identical_across_jobs():
    args = (
        "sweep",
        str(QUICKSTART),
        "-q",
        *FEW,
        "-r",
        "escalate",
        "--grid",
        "patience=1,2",
        "--on-miss",
        "approximate",
    )
    one = twinsim(*args, "--json", "-", cwd=ROOT).stdout
    two = twinsim(*args, "--json", "-", "-j", "2", cwd=ROOT).stdout
    assert one == two


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-r", "escalate", "--grid", "patience"], "is not key=v1,v2"),
        (["-r", "escalate", "--grid", "patience=1", "--grid", "patience=2"], "given twice"),
        (["-r", "escalate", "--grid", "nope=1"], "unknown parameter 'nope'"),
        (["-r", "escalate", "--grid", "patience=0"], "below 1"),
    ],
)
def test_sweep_bad_grids_are_clear(args, message):
    result = twinsim("sweep", str(QUICKSTART), *args, check=False)
    assert result.returncode != 0 and message in result.stderr


def test_sweep_prints_points_and_metrics_and_writes_the_picture_and_html(sweep_files, escalate_sweep):
    files, table = sweep_files
    for text in ("escalate:patience=2", "always:high", "APGR", "CPT(80%)", "AIQ", "per-instance oracle"):
        assert text in table
    apgr = escalate_sweep["metrics"]["sweep"]["share"]["apgr"]
    assert f"{apgr:.3f}" in table
    png = files["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width == 900 and height > 300
    html = files["html"].read_text()
    assert "Sweep of escalate" in html and "data:image/png;base64," in html and "CPT(50%)" in html
    assert html.index("Sweep of escalate") < html.index("Spend vs resolved rate")  # the sweep first


def test_sweep_over_imported_mini_swe_agent_runs(tmp_path):
    """The README's sweep over the imported 2.x runs: points complete approximately, no gap, APGR undefined."""
    runs, out = ROOT / "tests" / "data" / "mini-swe-agent-v2-local", tmp_path / "local"
    twinsim("import-trajectories", str(runs / "mid"), "--reports", str(runs / "mid" / "reports"), "--out", str(out),
            "--tier", "mid", "--pricing", "input=0.3,cache_read=0.059,cache_write=0.3,output=1.2")  # fmt: skip
    twinsim("import-trajectories", str(runs / "high"), "--out", str(out), "--tier", "high", "--extend",
            "--pricing", "input=5,cache_read=0.5,cache_write=6.25,output=25")  # fmt: skip
    result = twinsim("sweep", str(out), "-q", "-r", "random:seed=1", "--grid", "weights=mid:1/high:1",
                     "--on-miss", "approximate", "--baseline", "none", "--json", "-")  # fmt: skip
    s = json.loads(result.stdout)
    assert (s["references"]["weak"]["router"], s["references"]["strong"]["router"]) == ("always:mid", "always:high")
    assert s["points"][0]["incomplete"] == 0 and s["points"][0]["approximate"] > 0
    assert s["metrics"]["sweep"]["gap"] == 0.0 and s["metrics"]["sweep"]["share"]["apgr"] is None
    assert "no gap to recover" in " ".join(result.stderr.split())
