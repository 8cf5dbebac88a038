"""Reading mini-swe-agent trajectory files: the calls a run made and what each action returned.

Two formats: `mini-swe-agent-1` (mini-swe-agent 1.x) and `mini-swe-agent-1.1` (2.x). A run is a list
of turns, one per model call: the prefix of messages it was asked with, the provider's response, the
actions parsed from it and what the environment returned for each. Outputs come back in the shape a
2.x environment returns them, so the replay's agent renders the recorded messages again:

- 2.x observations carry their raw output (`extra.raw_output`, `returncode`, `exception_info`);
- 1.x observations are rendered text: they are inverted for 1.x's SWE-bench observation template
  (short outputs exactly; an output over 10,000 characters kept only its first and last 5,000, so
  the elided middle is filled with NUL characters of the recorded length) and its timeout template.

Anything that does not read as the format says raises `TrajectoryError` naming the file and the place.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

V1_FORMAT, V2_FORMAT = "mini-swe-agent-1", "mini-swe-agent-1.1"
V1_ACTION_REGEX = r"```bash\s*\n(.*?)\n```"
SUBMIT_MARKER = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
OBSERVATION = re.compile(r"\A<returncode>(-?\d+)</returncode>\n<output>\n(.*)</output>\Z", re.DOTALL)
ELIDED = re.compile(
    r"\A<returncode>(-?\d+)</returncode>\n<warning>.*?</warning><output_head>\n(.*)\n</output_head>\n"
    r"<elided_chars>\n(\d+) characters elided\n</elided_chars>\n<output_tail>\n(.*)\n</output_tail>\Z",
    re.DOTALL,
)
TIMEOUT = re.compile(
    r"\AThe last command <command>.*?</command> timed out and has been killed\.\n"
    r"The output of the command was:\n <output>\n(.*)\n</output>\n",
    re.DOTALL,
)


class TrajectoryError(ValueError):
    """A file that is not a mini-swe-agent trajectory twinsim can import (the message says why)."""


@dataclass
class Turn:
    """One model call and what followed it."""

    prefix: int
    """How many messages the call was asked with."""
    message: dict
    """The assistant message as the agent kept it (without `extra`)."""
    raw: dict
    """The provider's response."""
    cost: float | None
    """The agent's own price of the call (`extra.cost`), where it recorded one."""
    actions: list[dict] = field(default_factory=list)
    """Parsed actions ({"command": ...}); none after a malformed reply."""
    outputs: list[dict] = field(default_factory=list)
    """Per action, what the environment returned (2.x shape)."""
    interrupt: dict | None = None
    """What the last action raised (2.x: `Submitted` with its exit message)."""


@dataclass
class Run:
    path: Path
    instance_id: str
    format: str
    mini_version: str
    config: dict
    messages: list[dict]
    turns: list[Turn]
    exit_status: str
    submission: str
    api_calls: int
    instance_cost: float

    @property
    def v1(self) -> bool:
        return self.format == V1_FORMAT


def read_run(path: Path) -> Run:
    """A trajectory file as a Run; TrajectoryError says what is wrong with it."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TrajectoryError(f"{path}: not a readable JSON file ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list) or "info" not in data:
        raise TrajectoryError(f"{path}: not a mini-swe-agent trajectory (no `info` and `messages`)")
    fmt = data.get("trajectory_format", "")
    if fmt not in (V1_FORMAT, V2_FORMAT):
        raise TrajectoryError(f"{path}: trajectory format {fmt!r} is not one twinsim reads ({V1_FORMAT}, {V2_FORMAT})")
    info, messages = data["info"], data["messages"]
    try:
        stats, config = info["model_stats"], info["config"]
        instance_id = data.get("instance_id") or Path(path).name.removesuffix(".traj.json")
        run = Run(
            path=Path(path),
            instance_id=instance_id,
            format=fmt,
            mini_version=str(info.get("mini_version", "")),
            config=config,
            messages=messages,
            turns=[],
            exit_status=info.get("exit_status") or "",
            submission=info.get("submission") or "",
            api_calls=int(stats["api_calls"]),
            instance_cost=float(stats["instance_cost"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise TrajectoryError(f"{path}: `info` lacks {e} (model_stats, config)") from None
    if len(messages) < 2 or [m.get("role") for m in messages[:2]] != ["system", "user"]:
        raise TrajectoryError(f"{path}: a trajectory starts with a system and a user (task) message")
    run.turns = _v1_turns(run) if run.v1 else _v2_turns(run)
    if len(run.turns) != run.api_calls:
        raise TrajectoryError(f"{path}: {len(run.turns)} model calls in the messages, but api_calls is {run.api_calls}")
    return run


def _where(run: Run, i: int) -> str:
    return f"{run.path}: message {i} ({run.messages[i].get('role')})"


def _v1_turns(run: Run) -> list[Turn]:
    """1.x: (assistant, user) pairs after the task; every reply stays, even a malformed one."""
    messages, turns = run.messages, []
    last = len(messages) - 1
    for i in range(2, len(messages), 2):
        reply = messages[i]
        if reply.get("role") != "assistant" or i + 1 > last or messages[i + 1].get("role") != "user":
            if run.exit_status == "LimitsExceeded" and i == last and reply.get("role") == "user":
                break  # 1.x ends an exhausted run with an empty user message, no call
            raise TrajectoryError(f"{_where(run, i)}: 1.x alternates assistant and user messages after the task")
        raw = (reply.get("extra") or {}).get("response")
        if not isinstance(raw, dict) or not raw.get("choices"):
            raise TrajectoryError(f"{_where(run, i)}: no provider response in extra.response")
        turn = Turn(
            prefix=i, message=_provider_message(raw, reply), raw=raw, cost=(reply.get("extra") or {}).get("cost")
        )
        commands = [c.strip() for c in re.findall(V1_ACTION_REGEX, reply.get("content") or "", re.DOTALL)]
        if len(commands) == 1:
            turn.actions = [{"command": commands[0]}]
            answer = messages[i + 1]["content"]
            if i + 1 == last and run.exit_status == "Submitted":  # 1.x keeps the output minus its marker line
                turn.outputs = [{"output": f"{SUBMIT_MARKER}\n{answer}", "returncode": 0, "exception_info": ""}]
            else:
                turn.outputs = [_v1_output(run, i + 1, answer)]
        turns.append(turn)
    return turns


def _v1_output(run: Run, i: int, content: str) -> dict:
    """The environment output a 1.x observation was rendered from."""
    if m := OBSERVATION.match(content):
        return {"output": m.group(2), "returncode": int(m.group(1)), "exception_info": ""}
    if m := ELIDED.match(content):
        head, elided, tail = m.group(2), int(m.group(3)), m.group(4)
        return {"output": head + "\0" * elided + tail, "returncode": int(m.group(1)), "exception_info": ""}
    if m := TIMEOUT.match(content):
        timeout = {"exception_type": "TimeoutExpired", "exception": "timed out"}
        return {"output": m.group(1), "returncode": -1, "exception_info": "timed out", "extra": timeout}
    raise TrajectoryError(f"{_where(run, i)}: not an observation of 1.x's SWE-bench templates: {content[:80]!r}")


def _v2_turns(run: Run) -> list[Turn]:
    """2.x: an assistant message and its observations, a format error (the reply is not kept: it is in the
    error's extra), or the final exit message."""
    messages, turns, i = run.messages, [], 2
    while i < len(messages):
        message, extra = messages[i], messages[i].get("extra") or {}
        role = message.get("role")
        if role == "exit":
            if i != len(messages) - 1:
                raise TrajectoryError(f"{_where(run, i)}: the exit message must be the last one")
            break
        if role == "user" and extra.get("interrupt_type") == "FormatError":
            raw = extra.get("response")
            if not isinstance(raw, dict) or not raw.get("choices"):
                raise TrajectoryError(f"{_where(run, i)}: a format error without the provider response")
            turns.append(Turn(prefix=i, message=_provider_message(raw, None), raw=raw, cost=extra.get("cost")))
            i += 1
            continue
        if role != "assistant" or not isinstance(extra.get("response"), dict):
            raise TrajectoryError(f"{_where(run, i)}: expected an assistant message with extra.response")
        turn = Turn(
            prefix=i,
            message={k: v for k, v in message.items() if k != "extra"},
            raw=extra["response"],
            cost=extra.get("cost"),
            actions=[dict(a) for a in extra.get("actions") or []],
        )
        i += 1
        for _ in turn.actions:
            if (
                i < len(messages)
                and messages[i].get("role") in ("user", "tool")
                and "raw_output" in (messages[i].get("extra") or {})
            ):
                turn.outputs.append(_v2_output(messages[i]["extra"]))
                i += 1
            elif i == len(messages) - 1 and messages[i].get("role") == "exit":
                turn.interrupt = {"type": "Submitted", "messages": [messages[i]]} if _submitted(messages[i]) else None
                break
            else:
                raise TrajectoryError(f"{_where(run, min(i, len(messages) - 1))}: an action without its observation")
        turns.append(turn)
    return turns


def _v2_output(extra: dict) -> dict:
    known = {"raw_output", "returncode", "timestamp", "exception_info"}
    output = {
        "output": extra["raw_output"],
        "returncode": extra.get("returncode"),
        "exception_info": extra.get("exception_info") or "",
    }
    rest = {k: v for k, v in extra.items() if k not in known}
    return output | ({"extra": rest} if rest else {})


def _submitted(message: dict) -> bool:
    return (message.get("extra") or {}).get("exit_status") == "Submitted"


def _provider_message(raw: dict, kept: dict | None) -> dict:
    """The assistant message of a response: what the agent kept, else the provider's message."""
    if kept is not None and "tool_calls" in kept:
        return {k: v for k, v in kept.items() if k != "extra"}
    message = dict(raw["choices"][0].get("message") or {})
    return message or {"role": "assistant", "content": (kept or {}).get("content", "")}
