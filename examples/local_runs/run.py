"""Make mini-swe-agent 2.x runs of the local suite with mini-swe-agent's own runner, and grade them.

This is how `tests/data/mini-swe-agent-v2-local/` was made: real mini-swe-agent runs (its
`mini-extra swebench-single` runner, its SWE-bench text-based config, its local environment)
against a local llama.cpp tier, then the submitted patches graded with swebench's rules into
harness-style reports. twinsim only materializes the repositories and grades; it never
drives the agent. Import the result with `twinsim import-trajectories`.

    twinsim serve-local --tier mid --tier high &
    python examples/local_runs/run.py --tier mid --out runs/mid
    python examples/local_runs/run.py --tier high --out runs/high
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from minisweagent.config import builtin_config_dir

from simulator.localmodels.models import SPECS
from simulator.localmodels.serve import DEFAULT_PORTS
from simulator.replay.evaluation import SwebenchEvaluator
from simulator.suite import load_suite, materialize

CONFIG = (
    builtin_config_dir / "benchmarks" / "swebench_backticks.yaml"
)  # mini-swe-agent's own text-based SWE-bench config
TESTBED = Path("/tmp/twinsim-mswea/testbed")  # one path for every instance: the runs share one agent config
INSTANCES = [
    "twinsim__pagekit-1",
    "twinsim__retrykit-1",
    "twinsim__slugger-1",
    "twinsim__tempconv-1",
    "twinsim__wordfreq-1",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tier", choices=list(SPECS), required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--instance", action="append", default=None)
    parser.add_argument("--step-limit", type=int, default=8)
    args = parser.parse_args()
    suite = load_suite("local")
    data = Path(tempfile.mkdtemp(prefix="mswea-data-"))
    (data / "test.jsonl").write_text("".join(json.dumps(i) + "\n" for i in suite.instances))
    args.out.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"OPENAI_API_KEY": "none", "HF_DATASETS_OFFLINE": "1", "MSWEA_SILENT_STARTUP": "1"}
    for instance_id in args.instance or INSTANCES:
        instance = suite.instance(instance_id)
        if TESTBED.exists():
            shutil.rmtree(TESTBED)
        materialize(suite, instance, TESTBED)
        trajectory = args.out / f"{instance_id}.traj.json"
        settings = {
            "agent.step_limit": args.step_limit,
            "agent.cost_limit": 0,
            "environment.environment_class": "local",
            "environment.cwd": str(TESTBED),
            "model.model_class": "litellm_textbased",
            "model.model_name": f"openai/{SPECS[args.tier].alias}",
            "model.model_kwargs.api_base": f"http://127.0.0.1:{DEFAULT_PORTS[args.tier]}/v1",
            "model.model_kwargs.temperature": 0,
            "model.model_kwargs.seed": 0,
            "model.model_kwargs.max_tokens": 256,
            "model.cost_tracking": "ignore_errors",
        }
        runner = str(Path(sys.executable).parent / "mini-extra")
        command = [runner, "swebench-single", "--subset", str(data), "--split", "test", "-i", instance_id]
        command += ["-c", str(CONFIG), *[a for k, v in settings.items() for a in ("-c", f"{k}={v}")]]
        command += ["--exit-immediately", "--yolo", "-o", str(trajectory)]
        subprocess.run(command, env=env, check=True, stdin=subprocess.DEVNULL)
        info = json.loads(trajectory.read_text())["info"]
        if info.get("exit_status") == "Submitted":
            result = SwebenchEvaluator(suite).evaluate(instance, info.get("submission") or "")
            report = {
                "patch_is_None": not info.get("submission"),
                "patch_exists": bool(info.get("submission")),
                "patch_successfully_applied": result["patch_applied"],
                "resolved": result["resolved"],
                "tests_status": {k: result[k] for k in ("FAIL_TO_PASS", "PASS_TO_PASS")},
            }
            folder = args.out / "reports" / instance_id
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "report.json").write_text(json.dumps({instance_id: report}, indent=2) + "\n")
        print(f"{instance_id}: {info.get('exit_status')}, {info['model_stats']['api_calls']} calls", flush=True)


if __name__ == "__main__":
    main()
