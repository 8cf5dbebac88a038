"""The agent a replay runs: mini-swe-agent's own DefaultAgent, or for runs made with mini-swe-agent 1.x a
minimal subclass of it that keeps 1.x's message history.

The agent config's `agent_class` chooses: `default` (mini-swe-agent 2.x) or `mini-swe-agent-1`. Where
1.x behaved differently from 2.x, `V1Agent` does what 1.x did, and nothing else:

- a malformed reply stays in the history, followed by the format error rendered with 1.x's
  `format_error_template` (2.x drops the reply and renders the error with the model's template);
- observations are rendered with 1.x's `action_observation_template`, and a command that timed out
  with its `timeout_template` (2.x renders timeouts as ordinary observations);
- a run is submitted when the first output line is either 1.x marker, whatever the return code
  (2.x also requires return code 0 and only `COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT`);
- an assistant message keeps only role and content (1.x neither kept nor sent reasoning fields);
- no limit on consecutive format errors (2.x stops after 3).

1.x's final message (a user message holding the submission) is 2.x's `exit` message: same content.
"""

import re

from jinja2 import StrictUndefined
from minisweagent.agents.default import AgentConfig, DefaultAgent
from minisweagent.exceptions import FormatError, Submitted

from simulator.replay import templates

V1 = "mini-swe-agent-1"
V1_ACTION_REGEX = r"```bash\s*\n(.*?)\n```"  # hard-coded in 1.x's DefaultAgent.parse_action
V1_SUBMIT_MARKERS = ("MINI_SWE_AGENT_FINAL_OUTPUT", "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT")
V1_TIMEOUT_TEMPLATE = (  # 1.x AgentConfig's default
    "The last command <command>{{action['action']}}</command> timed out and has been killed.\n"
    "The output of the command was:\n <output>\n{{output}}\n</output>\n"
    "Please try another command and make sure to avoid those requiring interactive input."
)


class V1AgentConfig(AgentConfig):
    """2.x's AgentConfig with the three templates 1.x kept on the agent."""

    action_observation_template: str = "Observation: {{output}}"
    timeout_template: str = V1_TIMEOUT_TEMPLATE
    format_error_template: str = "Please always provide EXACTLY ONE action in triple backticks."
    max_consecutive_format_errors: int = 0


class V1Agent(DefaultAgent):
    """mini-swe-agent 2.x's DefaultAgent with 1.x's history (module docstring). Needs a text-based model
    whose action_regex is 1.x's."""

    def __init__(self, model, env, **kwargs):
        super().__init__(model, env, config_class=V1AgentConfig, **kwargs)

    def _render(self, template: str, **kwargs) -> str:
        return templates.compiled(template, StrictUndefined).render(**self.get_template_vars(**kwargs))

    def query(self) -> dict:
        try:
            message = super().query()
        except FormatError as e:
            error = e.messages[0]["extra"]
            content = error.get("model_response", "")
            reply = {
                "role": "assistant",
                "content": content,
                "extra": {"response": error.get("response"), "cost": error.get("cost", 0.0), "actions": []},
            }
            actions = re.findall(V1_ACTION_REGEX, content, re.DOTALL)
            notice = {
                "role": "user",
                "content": self._render(self.config.format_error_template, actions=actions),
                "extra": {"interrupt_type": "FormatError"},
            }
            raise FormatError(reply, notice) from None  # run() charges the reply's cost and adds both
        slim = {"role": "assistant", "content": message.get("content") or "", "extra": message.get("extra", {})}
        self.messages[-1] = slim
        return slim

    def execute_actions(self, message: dict) -> list[dict]:
        (action,) = message.get("extra", {}).get("actions", [])  # text parsing guarantees exactly one
        output = self.env.execute(action)
        lines = output.get("output", "").lstrip().splitlines(keepends=True)
        if lines and lines[0].strip() in V1_SUBMIT_MARKERS:
            submission = "".join(lines[1:])
            raise Submitted(
                {"role": "exit", "content": submission, "extra": {"exit_status": "Submitted", "submission": submission}}
            )
        if output.get("extra", {}).get("exception_type") == "TimeoutExpired":
            content = self._render(
                self.config.timeout_template, action={"action": action["command"]}, output=output.get("output", "")
            )
        else:
            content = self._render(self.config.action_observation_template, output=output)
        extra = {"raw_output": output.get("output", ""), "returncode": output.get("returncode")}
        return self.add_messages({"role": "user", "content": content, "extra": extra})


AGENTS = {"default": DefaultAgent, V1: V1Agent}
templates.install()  # the agents and the model classes render through compiled templates


def agent_class(settings: dict) -> tuple[type[DefaultAgent], dict]:
    """The agent class an agent config names, and the settings it takes (without `agent_class`)."""
    name = settings.get("agent_class", "default")
    if name not in AGENTS:
        raise ValueError(f"unknown agent_class {name!r}; twinsim replays {', '.join(AGENTS)}")
    return AGENTS[name], {k: v for k, v in settings.items() if k != "agent_class"}
