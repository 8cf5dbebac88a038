"""Reading SWE-bench harness reports: did a run's patch resolve its instance, and which tests say so.

The harness writes `logs/run_evaluation/<run>/<model>/<instance_id>/report.json` holding
`{instance_id: {resolved, tests_status: {FAIL_TO_PASS: {success, failure}, PASS_TO_PASS: ...}, ...}}`;
collections of such reports are often flattened to `<instance_id>.report.json` holding the inner object.
Both layouts and both shapes are read.
"""

import json
from pathlib import Path

from simulator.imports.trajectory import TrajectoryError


def find_reports(folder: Path) -> dict[str, Path]:
    """Instance id -> its report file, for every report under `folder`."""
    found: dict[str, Path] = {}
    for path in sorted(Path(folder).rglob("*report.json")):
        if path.name == "report.json":
            instance_id = path.parent.name
        elif path.name.endswith(".report.json"):
            instance_id = path.name.removesuffix(".report.json")
        else:
            continue
        if instance_id in found:
            raise TrajectoryError(f"two reports for {instance_id}: {found[instance_id]} and {path}")
        found[instance_id] = path
    return found


def read_report(path: Path, instance_id: str) -> dict:
    """The report of `instance_id`: {resolved, FAIL_TO_PASS: {success, failure}, PASS_TO_PASS: ..., ...}."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TrajectoryError(f"{path}: not a readable JSON report ({e})") from None
    report = data.get(instance_id, data) if isinstance(data, dict) else None
    if not isinstance(report, dict) or not isinstance(report.get("resolved"), bool) or "tests_status" not in report:
        raise TrajectoryError(
            f"{path}: not a SWE-bench harness report of {instance_id} (no `resolved`, `tests_status`)"
        )
    tests = report["tests_status"]
    return {
        "resolved": report["resolved"],
        "patch_applied": report.get("patch_successfully_applied"),
        **{kind: tests.get(kind, {"success": [], "failure": []}) for kind in ("FAIL_TO_PASS", "PASS_TO_PASS")},
        "source": "swebench harness report",
    }


def expected(report: dict | None, kind: str) -> list[str]:
    """The tests of `kind` (FAIL_TO_PASS / PASS_TO_PASS) the report names, passed or failed."""
    if report is None:
        return []
    return sorted(report[kind].get("success", []) + report[kind].get("failure", []))
