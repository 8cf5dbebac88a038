"""Report formats and paired comparison: the same numbers in table, JSON, CSV and HTML; honest aggregates."""

import csv
import io
import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import twinsim

from simulator.cli import main
from simulator.records import Approximation, RunResult, StepTrace
from simulator.report.aggregate import build_report, deterministic, pareto_optimal, report_csv, report_json
from simulator.report.compare import paired_comparison
from simulator.report.html import report_html
from simulator.report.stats import mcnemar_exact, wilson_interval
from simulator.report.tables import print_table, rate_text, table_rows

QUICKSTART = Path(__file__).resolve().parent.parent / "recordings" / "quickstart"
FORMATS = ("json", "csv", "png", "html")


# Every built-in but knn (it needs a bank) and the example custom router.
ALL_ROUTERS = [
    "always:low",
    "always:mid",
    "always:high",
    "random:seed=1",
    "round-robin",
    "schedule:high=2,then=low",
    "escalate",
    "budget:usd=0.01",
    "cache-aware",
    "examples/custom_router.py:WarmUnderBudget",
]
ROOT = QUICKSTART.parent.parent  # the example router's path is relative to it


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports")
    files = {fmt: folder / f"report.{fmt}" for fmt in FORMATS}
    routers = [r for spec in ALL_ROUTERS for r in ("-r", spec)]
    result = twinsim(
        "replay",
        str(QUICKSTART),
        "-q",
        *routers,
        *(arg for fmt, path in files.items() for arg in (f"--{fmt}", str(path))),
        cwd=ROOT,
    )
    return {
        "table": result.stdout,
        "json": json.loads(files["json"].read_text()),
        "csv": list(csv.DictReader(io.StringIO(files["csv"].read_text()))),
        "files": files,
    }


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_every_format_shows_the_same_numbers(written):
    report, rows = written["json"], written["csv"]
    assert report["schema"] == "twinsim.report/4"
    assert [row["router"] for row in rows] == [a["router"] for a in report["routers"]]
    header, cells = table_rows(report)
    html = written["files"]["html"].read_text()
    for a, row, table_row in zip(report["routers"], rows, cells):
        assert json.loads(row["leaderboard_bill_usd"]) == a["leaderboard_bill_usd"]
        assert json.loads(row["resolved_rate_ci95_lo"]) == a["resolved_rate_ci95"][0]
        assert json.loads(row["resolved_rate_ci95_hi"]) == a["resolved_rate_ci95"][1]
        for tier, share in a["tier_mix"].items():
            assert json.loads(row[f"tier_mix_{tier}"]) == share
        for key in (
            "n",
            "resolved",
            "incomplete",
            "exact",
            "approximate",
            "router_cost_usd",
            "mean_cost_usd",
            "mean_steps",
            "hit_rate",
            "live_calls",
        ):
            assert json.loads(row[key]) == a[key], key
        assert row["cost_per_resolved_usd"] == (
            "" if a["cost_per_resolved_usd"] is None else json.dumps(a["cost_per_resolved_usd"])
        )
        # The table text and the HTML carry the same rounded numbers.
        line = next(line for line in written["table"].splitlines() if line.strip().startswith(a["router"] + " "))
        for text in (
            f"{a['router_cost_usd']:.4f}",
            f"{a['leaderboard_bill_usd']:.4f}",
            f"{a['mean_steps']:.1f}",
            rate_text(a),
        ):
            assert text in line and text in " ".join(table_row)
        lo, hi = a["resolved_rate_ci95"]
        assert f"{lo:.0%}–{hi:.0%}" in line
        assert "<tr>" + "".join(f"<td>{c}</td>" for c in table_row) + "</tr>" in html


def test_aggregates_hold_what_stays_true_of_the_quickstart(written):
    report = written["json"]
    routers = {a["router"]: a for a in report["routers"]}
    assert report["tiers"] == ["low", "mid", "high"]
    for tier in report["tiers"]:
        a = routers[f"always:{tier}"]
        assert a["exact"] == a["n"] and a["approximate"] == a["incomplete"] == 0
        assert a["tier_mix"] == {t: float(t == tier) for t in report["tiers"]}
    for a in report["routers"]:
        low, high = (
            wilson_interval(a["resolved"], a["n"])[0],
            wilson_interval(a["resolved"] + a["incomplete"], a["n"])[1],
        )
        assert a["resolved_rate_ci95"] == pytest.approx([low, high])  # incomplete runs widen it to the bounds
        assert (a["cost_per_resolved_usd"] is None) == (a["resolved"] == 0)
        assert sum(a["tier_mix"].values()) == pytest.approx(1.0)
        assert "router_ms" not in a  # wall time stays out of files without --timings
    assert any(a["pareto"] for a in report["routers"])
    assert "router_ms" not in written["files"]["csv"].read_text()


def test_the_png_is_a_readme_sized_picture(written):
    width, height = png_size(written["files"]["png"])
    runs = len(written["json"]["runs"])
    assert width == 900
    assert height > 450 + 16 * runs  # the frontier panel plus a row per trajectory


def test_the_html_is_self_contained_with_a_drill_down_per_trajectory(written):
    html = written["files"]["html"].read_text()
    assert html.count("data:image/png;base64,") == 2
    for external in ("<script", "<link", 'src="http', 'href="http', "@import", "url("):
        assert external not in html
    assert html.count("<details>") == len(written["json"]["runs"])
    steps = sum(len(run["steps"]) for run in written["json"]["runs"])
    assert html.count("<td class=action><pre>") == steps
    assert "(response not in the store)" not in html


def test_report_files_are_byte_identical_across_processes(written, tmp_path):
    files = {fmt: tmp_path / f"again.{fmt}" for fmt in FORMATS}
    routers = [r for spec in ALL_ROUTERS for r in ("-r", spec)]
    twinsim(
        "replay",
        str(QUICKSTART),
        "-q",
        "--jobs",
        "2",
        *routers,
        *(arg for fmt, path in files.items() for arg in (f"--{fmt}", str(path))),
        cwd=ROOT,
    )
    for fmt in FORMATS:
        assert files[fmt].read_bytes() == written["files"][fmt].read_bytes(), fmt


def cli(*args: str):
    """The CLI in this process (no new interpreter to start); a crash fails here, not as an exit code."""
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_unwritable_report_path_is_a_clear_error(tmp_path):
    result = cli(
        "replay",
        str(QUICKSTART),
        "-q",
        "-r",
        "always:low",
        "-i",
        "twinsim__envcfg-1",
        "--csv",
        str(tmp_path / "missing" / "r.csv"),
    )
    assert result.exit_code == 1 and "cannot write" in result.stderr


# --- aggregates of constructed runs (a router latency, approximations, incomplete runs) ---


def run(
    router: str, instance: str, status: str, tiers: str, *, spend: float = 0.01, ms=(), approximations=()
) -> RunResult:
    steps = [
        StepTrace(
            step=i,
            tier=t,
            response=f"{router}{instance}{i}",
            source="hit",
            cost_usd=spend / len(tiers),
            input_tokens=1,
            cache_read_tokens=0,
            cache_write_tokens=0,
            output_tokens=1,
            router_ms=ms[i] if ms else None,
        )
        for i, t in enumerate(tiers.split())
    ]
    return RunResult(
        router=router,
        instance_id=instance,
        status=status,
        exit_status="Submitted",
        steps=steps,
        spend_usd=spend,
        approximations=list(approximations),
        reason="miss" if status == "incomplete" else "",
    )


def approx(kind: str, step: int) -> Approximation:
    return Approximation(kind=kind, step=step, asked="a", used="b", similarity=0.5, how="nearest-prefix")


def test_timings_are_aggregated_for_the_table_but_kept_out_of_files():
    results = [run("r", "i1", "resolved", "low high", ms=(1.0, 3.0)), run("r", "i2", "unresolved", "low", ms=(2.0,))]
    report = build_report(results, source={}, policy="error", tiers=("low", "high"))
    assert report["routers"][0]["router_ms"] == {"mean": 2.0, "p95": 2.9}
    assert "router_ms" not in report_json(deterministic(report)) and "router_ms" not in report_csv(
        deterministic(report)
    )
    assert "router_ms_p95" in report_csv(report)
    assert report_json(deterministic(report)) == report_json(
        deterministic(build_report(results, source={}, policy="error", tiers=("low", "high")))
    )
    header, rows = table_rows(report)
    assert header[-1] == "select ms mean/p95" and rows[0][-1] == "2.00/2.90"


def test_fidelity_counts_approximations_and_incomplete_bounds():
    results = [
        run(
            "r",
            "i1",
            "resolved",
            "low",
            approximations=[approx("response", 0), approx("observation", 0), approx("observation", 1)],
        ),
        run("r", "i2", "incomplete", "low low"),
        run("r", "i3", "unresolved", "high low"),
        run("r", "i4", "resolved", "high"),
    ]
    a = build_report(results, source={}, policy="error", tiers=("low", "mid", "high"))["routers"][0]
    assert (a["exact"], a["approximate"], a["incomplete"]) == (2, 1, 1)
    assert a["approximated"] == {"response": 1, "observation": 2, "evaluation": 0}
    assert a["resolved_rate_bounds"] == [0.5, 0.75]
    assert a["resolved_rate_ci95"] == pytest.approx([wilson_interval(2, 4)[0], wilson_interval(3, 4)[1]])
    assert a["tier_mix"] == pytest.approx({"low": 4 / 6, "mid": 0.0, "high": 2 / 6}) and list(a["tier_mix"]) == [
        "low",
        "mid",
        "high",
    ]
    assert a["cost_per_resolved_usd"] == pytest.approx(0.02)
    assert a["leaderboard_bill_usd"] == pytest.approx(0.04 + 2 * 0.60)


def test_tier_mix_without_a_pool_order_is_by_name():
    report = build_report([run("r", "i", "unresolved", "mid high low")], source={}, policy="error")
    assert report["tiers"] == ["high", "low", "mid"]


def test_pareto_optimal():
    assert pareto_optimal([(1.0, 0.1), (2.0, 0.1), (0.5, 0.0), (3.0, 0.5), (3.0, 0.4)]) == [
        True,
        False,
        True,
        True,
        False,
    ]
    assert pareto_optimal([(1.0, 0.2), (1.0, 0.2)]) == [True, True]


def test_html_escapes_every_text():
    evil = "<script>alert(1)</script>"
    results = [run(evil, "i&1", "incomplete", "low")]
    report = deterministic(build_report(results, source={"name": evil}, policy="error", tiers=("low",)))
    html = report_html(
        report, {"<script>alert(1)</script>i&10": {"message": {"content": "```bash\necho '<b>' && ls\n```"}}}
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "echo &#x27;&lt;b&gt;&#x27; &amp;&amp; ls" in html and "i&amp;1" in html


def test_print_table_lists_approximate_and_incomplete_runs():
    from rich.console import Console

    console = Console(file=io.StringIO(), width=200)
    report = build_report(
        [
            run("r", "i1", "unresolved", "low", approximations=[approx("response", 0)]),
            run("r", "i2", "incomplete", "low"),
        ],
        source={},
        policy="error",
        tiers=("low",),
    )
    print_table(report, console)
    text = console.file.getvalue()
    assert "approximate r: 1 of 2 trajectories, 1 steps (1 responses approximated)" in text
    assert "incomplete r × i2: miss" in text


# --- paired comparison ---


def test_compare_from_a_recording_and_from_its_report_agree(written):
    replayed = twinsim("compare", str(QUICKSTART), "always:high", "always:low", "-q", "--json", "-").stdout
    from_report = twinsim("compare", str(written["files"]["json"]), "always:high", "always:low", "--json", "-").stdout
    assert replayed == from_report
    c = json.loads(replayed)
    routers = {a["router"]: a for a in written["json"]["routers"]}
    assert c["n"] == routers["always:high"]["n"] and c["incomplete"] == [] and c["unpaired"] == []
    assert (c["resolved"]["a"], c["resolved"]["b"]) == (
        routers["always:high"]["resolved"],
        routers["always:low"]["resolved"],
    )
    assert c["resolved"]["a"] - c["resolved"]["b"] == c["discordant"]["a_only"] - c["discordant"]["b_only"]
    assert c["mcnemar_p"] == pytest.approx(mcnemar_exact(c["discordant"]["a_only"], c["discordant"]["b_only"]))
    assert c["spend_diff_mean_usd"] == pytest.approx(
        (routers["always:high"]["router_cost_usd"] - routers["always:low"]["router_cost_usd"]) / c["n"]
    )
    lo, hi = c["spend_diff_ci95"]
    assert lo <= c["spend_diff_mean_usd"] <= hi and c["spend_diff_mean_usd"] > 0
    assert c["bill_diff_usd"] == pytest.approx(
        routers["always:high"]["leaderboard_bill_usd"] - routers["always:low"]["leaderboard_bill_usd"]
    )


def test_compare_prints_the_verdict_and_where_routers_differ(written):
    text = cli("compare", str(written["files"]["json"]), "always:high", "always:low").stdout
    assert "McNemar exact" in text and "paired bootstrap" in text and "Where they differ" in text
    assert (
        f"at n={len(written['json']['runs']) // len(written['json']['routers'])}" in text
        or "significantly more than" in text
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (("always:high", "always:nope"), "router 'always:nope' has no runs here"),
        (("always:high", "always:high"), "name two different routers"),
    ],
)
def test_compare_bad_routers_are_usage_errors(written, args, message):
    result = cli("compare", str(written["files"]["json"]), *args)
    assert result.exit_code == 2 and message in result.stderr


def test_compare_refuses_a_file_that_is_not_a_report(written):
    result = cli("compare", str(written["files"]["csv"]), "a", "b")
    assert result.exit_code == 1 and "is not a JSON report" in result.stderr


def test_compare_counts_only_complete_pairs():
    results = [
        run("A", "i1", "resolved", "high"),
        run("A", "i2", "resolved", "high"),
        run("A", "i3", "resolved", "high"),
        run("A", "i4", "unresolved", "high"),
        run("B", "i1", "unresolved", "low"),
        run("B", "i2", "incomplete", "low"),
        run("B", "i3", "resolved", "low"),
        run("B", "i5", "resolved", "low"),
    ]
    c = paired_comparison(deterministic(build_report(results, source={}, policy="error")), "A", "B")
    assert c["n"] == 2 and c["resolved"] == {"a": 2, "b": 1} and c["discordant"] == {"a_only": 1, "b_only": 0}
    assert [d["instance_id"] for d in c["incomplete"]] == ["i2"] and c["incomplete"][0]["reason"] == "miss"
    assert {(u["router"], u["instance_id"]) for u in c["unpaired"]} == {("A", "i4"), ("B", "i5")}
    assert [d["instance_id"] for d in c["differing"]] == ["i1"]  # same status, spend and steps at i3
    assert c["verdict"].startswith("no significant difference in resolved rate at n=2")


def test_compare_verdict_names_a_significant_winner():
    results = [run("A", f"i{k}", "unresolved", "low", spend=0.01) for k in range(8)] + [
        run("B", f"i{k}", "resolved", "high", spend=0.01 + k / 100) for k in range(8)
    ]
    c = paired_comparison(build_report(results, source={}, policy="error"), "A", "B")
    assert c["mcnemar_p"] == pytest.approx(2 / 256)
    assert (
        c["verdict"] == f"B resolves significantly more than A (8 vs 0 of 8, McNemar p = {2 / 256:.3g}); "
        "A spends significantly less per trajectory than B"
    )


def test_the_readme_picture_is_there():
    root = QUICKSTART.parent.parent
    assert "](docs/quickstart.png)" in (root / "README.md").read_text()
    assert png_size(root / "docs" / "quickstart.png")[0] == 900
