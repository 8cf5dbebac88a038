"""Many runs from the ten shared mini-swe-agent runs: copies with a task of their own each, so nothing is
shared between copies (bench/test_import_scale.py, bench/test_large_recording.py)."""

import json
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "mini-swe-agent-v1-trajectories"


def write_copies(folder: Path, copies: int) -> Path:
    """`copies` x 10 trajectory files in FOLDER, and their harness reports in FOLDER/logs."""
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    for path in sorted((DATA / "trajs").glob("*.traj.json")):
        data = json.loads(path.read_text())
        for k in range(copies):
            copy = json.loads(json.dumps(data))
            copy["instance_id"] = f"{data['instance_id']}-copy{k}"
            task = copy["messages"][1]
            task["content"] = task["content"].replace("\n</pr_description>", f"\n(copy {k})\n</pr_description>", 1)
            (folder / f"{copy['instance_id']}.traj.json").write_text(json.dumps(copy))
            report = DATA / "logs" / f"{data['instance_id']}.report.json"
            (folder / "logs" / f"{copy['instance_id']}.report.json").write_text(report.read_text())
    return folder
