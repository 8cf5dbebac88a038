"""What an imported run becomes in twinsim: the agent config that replays it, its tier, its suite instance.

A recording has one agent config: every run imported into it must come out with the same one (the
templates, limits and environment config; the per-instance container image is left out). The tier is
the model the run called; its output-affecting parameters come from the run's `model_kwargs`.
"""

import json
import re

from jinja2 import Template

from simulator.config import AgentConfig
from simulator.imports.reports import expected
from simulator.imports.trajectory import V1_ACTION_REGEX, Run, TrajectoryError
from simulator.keys import OUTPUT_PARAMS
from simulator.replay.agents import V1
from simulator.replay.environment import SECRET_NAME_MARKERS
from simulator.replay.model import scrub

# What 2.x's DefaultAgent takes from the agent section; the rest (interactive modes, output paths) is not replayed.
AGENT_FIELDS = ("system_template", "instance_template", "step_limit", "cost_limit", "wall_time_limit_seconds",
                "max_consecutive_format_errors")  # fmt: skip
V1_AGENT_FIELDS = ("system_template", "instance_template", "timeout_template", "format_error_template",
                   "action_observation_template", "step_limit", "cost_limit")  # fmt: skip
PER_INSTANCE = ("image", "container_name")  # environment fields that name the instance's own container
MODEL_ONLY = ("model_name", "model_kwargs", "litellm_model_registry", "litellm_model_name_override", "model_class")
TASK = "\0twinsim-task\0"
NUMBER = re.compile(r"-\d+$")  # django__django-12143 -> django/django


def agent_config(run: Run) -> AgentConfig:
    """The agent config that replays `run` with mini-swe-agent's own loop (1.x: its minimal subclass)."""
    config = scrub(run.config)
    environment = {k: v for k, v in (config.get("environment") or {}).items() if k not in PER_INSTANCE}
    if isinstance(environment.get("env"), dict):  # variables named like credentials stay out of the recording
        environment["env"] = {
            k: v for k, v in environment["env"].items() if not any(m in k.upper() for m in SECRET_NAME_MARKERS)
        }
    agent = config.get("agent") or {}
    if run.v1:
        missing = [f for f in ("system_template", "instance_template") if f not in agent]
        if missing:
            raise TrajectoryError(f"{run.path}: info.config.agent lacks {', '.join(missing)}")
        return AgentConfig(
            name=f"mini-swe-agent {run.mini_version or '1.x'}",
            agent={"agent_class": V1} | {k: agent[k] for k in V1_AGENT_FIELDS if k in agent},
            # The 1.x agent renders format errors itself; the model only has to find them.
            model={
                "model_class": "litellm_textbased",
                "action_regex": V1_ACTION_REGEX,
                "format_error_template": "{{error}}",
            },
            environment=environment,
        )
    model = {k: v for k, v in (config.get("model") or {}).items() if k not in MODEL_ONLY}
    textbased = "action_regex" in model or "textbased" in str(config.get("model_type", "")).lower()
    return AgentConfig(
        name=f"mini-swe-agent {run.mini_version or '2.x'}",
        agent={k: agent[k] for k in AGENT_FIELDS if k in agent},
        model={"model_class": "litellm_textbased" if textbased else "litellm"} | model,
        environment=environment,
    )


def tier_model(run: Run) -> str:
    """The litellm model string of the run's model (OpenRouter's classes call it without the prefix)."""
    model = run.config.get("model") or {}
    name = str(model.get("model_name", "")).lstrip("@")
    if not name:
        raise TrajectoryError(f"{run.path}: info.config.model has no model_name")
    kind = str(run.config.get("model_type", "")).lower()
    return f"openrouter/{name}" if "openrouter" in kind and not name.startswith("openrouter/") else name


def bare_model(model: str) -> str:
    """The model behind a gateway's prefix (`openrouter/google/x` and Portkey's `@google/x` are `google/x`)."""
    return model.lstrip("@").removeprefix("openrouter/")


def tier_params(run: Run) -> dict:
    kwargs = (run.config.get("model") or {}).get("model_kwargs") or {}
    return {k: kwargs[k] for k in OUTPUT_PARAMS if kwargs.get(k) is not None}


def problem_statement(run: Run, agent: AgentConfig, template_vars: dict) -> str:
    """The task, recovered from the rendered task message: what `{{task}}` stood for."""
    try:
        rendered = Template(agent.agent["instance_template"]).render(template_vars | {"task": TASK})
    except Exception as e:  # a template error names the variable it could not render
        raise TrajectoryError(f"{run.path}: the instance template does not render ({type(e).__name__}: {e})") from None
    before, marker, after = rendered.partition(TASK)
    message = run.messages[1].get("content") or ""
    if not marker or TASK in after or not message.startswith(before) or not message.endswith(after):
        raise TrajectoryError(f"{run.path}: the task message is not the instance template around {{{{task}}}}")
    return message[len(before) : len(message) - len(after)]


def instance(run: Run, task: str, report: dict | None) -> dict:
    """A SWE-bench instance for the run: what the trajectory and its harness report tell (no repository)."""
    owner, _, rest = run.instance_id.partition("__")
    repo = f"{owner}/{NUMBER.sub('', rest)}" if rest else owner
    return {
        "instance_id": run.instance_id,
        "repo": repo,
        "base_commit": "",
        "patch": "",
        "test_patch": "",
        "problem_statement": task,
        "hints_text": "",
        "created_at": "",
        "version": "",
        "FAIL_TO_PASS": json.dumps(expected(report, "FAIL_TO_PASS")),
        "PASS_TO_PASS": json.dumps(expected(report, "PASS_TO_PASS")),
        "environment_setup_commit": "",
    }
