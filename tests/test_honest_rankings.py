"""Failing cannot look cheap: incomplete trajectories bound spend and bill, leave the frontier, warn, and can fail CI.
Repeated routers or instances are refused; a comparison that rests on approximate or left-out pairs says so."""

import json
from pathlib import Path

import pytest
from conftest import twinsim
from test_reports import approx, run

from simulator.report.aggregate import build_report
from simulator.report.compare import paired_comparison
from simulator.report.tables import column_groups, table_rows

QUICKSTART = Path(__file__).resolve().parent.parent / "recordings" / "quickstart"
CRASH = "class Crash:\n    def select(self, ctx):\n        raise RuntimeError('boom')\n"


def test_incomplete_spend_and_bill_are_bounds_up_to_the_costliest_complete_trajectory():
    results = [
        run("good", "i1", "resolved", "low", spend=0.30),
        run("good", "i2", "unresolved", "low", spend=0.10),
        run("early", "i1", "incomplete", "low", spend=0.02),
        run("early", "i2", "resolved", "low", spend=0.05),
    ]
    good, early = build_report(results, source={}, policy="error", tiers=("low",))["routers"]
    assert good["router_cost_usd_bounds"] == [0.4, 0.4] and good["leaderboard_bill_usd_bounds"] == [1.0, 1.0]
    assert good["leaderboard_bill_usd"] == 1.0
    # early: spent 0.07 so far; its incomplete run may cost up to 0.30 (good's costliest complete one).
    assert early["router_cost_usd"] == 0.07 and early["router_cost_usd_bounds"] == [0.07, 0.35]
    assert early["leaderboard_bill_usd_bounds"] == [0.07, 0.95]  # best: i1 resolved; worst: unresolved at 0.30
    assert early["leaderboard_bill_usd"] == 0.95
    # early spends less per trajectory and resolves as often, but did not finish: only good is on the frontier.
    assert (good["pareto"], early["pareto"]) == (True, False)


def test_the_table_marks_bounds_and_splits_to_fit_a_narrow_terminal():
    results = [run("good", "i1", "resolved", "low", spend=0.3), run("early", "i1", "incomplete", "low", spend=0.02)]
    report = build_report(results, source={}, policy="error", tiers=("low",))
    header, rows = table_rows(report)
    cells = dict(zip(header, rows[1]))
    assert (cells["spend $"], cells["mean $"], cells["bill $"]) == ("0.0200–0.3000", "≥0.0200", "≤0.9000")
    groups = column_groups(header, rows, 50)
    assert len(groups) > 1 and all(g[0] == 0 for g in groups)  # every part starts with the router
    assert sorted(i for g in groups for i in g[1:]) == list(range(1, len(header)))
    assert column_groups(header, rows, None) == [list(range(len(header)))]


@pytest.fixture(scope="module")
def crashing(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crash")
    (folder / "crash.py").write_text(CRASH)
    args = ["replay", str(QUICKSTART), "-q", "-r", "always:high", "-r", "always:mid", "-r", "crash.py:Crash"]
    strict = twinsim(*args, "--json", "-", "--fail-on-incomplete", cwd=folder, check=False)
    narrow = twinsim(*args, cwd=folder, env={"COLUMNS": "80"})
    return strict, narrow


def test_a_crashing_router_is_not_ranked_as_cheap_and_fails_ci(crashing):
    strict, _ = crashing
    assert strict.returncode == 3 and "16 of 48 trajectories are incomplete" in strict.stderr
    assert "16 of 16 trajectories of crash.py:Crash are incomplete" in strict.stderr
    assert "--on-miss approximate" in strict.stderr
    report = json.loads(strict.stdout)  # the report is written before the exit
    assert report["schema"] == "twinsim.report/4"
    routers = {a["router"]: a for a in report["routers"]}
    crash, high, mid = routers["crash.py:Crash"], routers["always:high"], routers["always:mid"]
    assert not crash["pareto"] and high["pareto"] and mid["pareto"]  # always:mid keeps its star
    costliest = max(r["spend_usd"] for r in report["runs"] if r["status"] != "incomplete")
    assert crash["router_cost_usd_bounds"] == [0.0, pytest.approx(16 * costliest)]
    assert crash["leaderboard_bill_usd"] == crash["leaderboard_bill_usd_bounds"][1]
    assert crash["leaderboard_bill_usd"] > max(high["leaderboard_bill_usd"], mid["leaderboard_bill_usd"])


def test_the_table_fits_80_columns_and_marks_the_bounds(crashing):
    _, narrow = crashing
    assert narrow.returncode == 0  # without --fail-on-incomplete an incomplete replay still succeeds
    lines = narrow.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    crash_rows = [line for line in lines if line.strip().startswith("crash.py:Crash")]
    assert len(crash_rows) > 1  # the table came in parts, each naming the router
    assert any("≤" in row for row in crash_rows) and any("0.0000–" in row for row in crash_rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-r", "always:high", "-r", "always:high"], "router always:high given more than once"),
        (["-r", "always:high", "-i", "twinsim__envcfg-1", "-i", "twinsim__envcfg-1"], "instance twinsim__envcfg-1"),
        (["--jobs", "0"], "0 is not in the range x>=1"),
    ],
)
def test_repeated_routers_or_instances_and_zero_jobs_are_refused(args, message):
    result = twinsim("replay", str(QUICKSTART), "-q", *args, check=False)
    assert result.returncode != 0 and message in result.stderr and not result.stdout


def test_the_compare_verdict_says_what_it_rests_on():
    exact = [run(r, i, "resolved", "low") for r in ("A", "B") for i in ("i1", "i2", "i3")]
    assert "caveat" not in paired_comparison(build_report(exact, source={}, policy="error"), "A", "B")["verdict"]
    shaky = [
        run("A", "i1", "resolved", "low", approximations=[approx("response", 0)]),
        run("A", "i2", "resolved", "low"),
        run("A", "i3", "resolved", "low"),
        run("B", "i1", "resolved", "low"),
        run("B", "i2", "resolved", "low"),
        run("B", "i3", "incomplete", "low"),
    ]
    c = paired_comparison(build_report(shaky, source={}, policy="approximate"), "A", "B")
    assert c["verdict"].endswith(
        " — caveat: 1 of the 2 pairs rest on approximate trajectories (≈); "
        "1 pairs with an incomplete trajectory are left out"
    )
    only_incomplete = [run("A", "i1", "resolved", "low"), run("B", "i1", "incomplete", "low")]
    c = paired_comparison(build_report(only_incomplete, source={}, policy="error"), "A", "B")
    assert c["verdict"].startswith("nothing to compare") and c["verdict"].endswith(
        "1 pairs with an incomplete trajectory are left out"
    )
