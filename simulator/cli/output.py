"""What commands print and read besides reports: plain tables, JSON files, a replay's JSON report read back."""

import json
import sys
from pathlib import Path

from simulator.cli.common import fail


def read_report(path: Path) -> dict:
    """A JSON report written by `twinsim replay --json`, or a clear error."""
    try:
        report = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        fail(f"{path} is not a JSON report: {e}")
    if (
        not isinstance(report, dict)
        or not str(report.get("schema", "")).startswith("twinsim.report/")
        or "runs" not in report
    ):
        fail(f"{path} is not a twinsim JSON report (write one with `twinsim replay --json`)")
    return report


def write_json(json_path: str | None, data: dict) -> None:
    from simulator.report.aggregate import report_json

    if json_path == "-":
        sys.stdout.write(report_json(data))
    elif json_path:
        Path(json_path).write_text(report_json(data))


def print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    from rich.table import Table

    from simulator.report.tables import wide_console

    table = Table(title=title)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    wide_console(table).print(table)
