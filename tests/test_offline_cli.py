"""What needs no model server: the CLI on the committed quickstart, mini-swe-agent's own message shape, and
the flag under which a missing local model fails the suite instead of skipping (an unreachable provider:
tests/test_offline_secrets.py)."""

import gzip
import importlib.util
import json
from pathlib import Path

import pytest
from conftest import INSTANCE, REQUIRE_LOCAL_MODELS, needs_local_models, twinsim

QUICKSTART = Path(__file__).resolve().parent.parent / "recordings" / "quickstart"


def replay_json(recording, *args):
    return twinsim("replay", str(recording), "--json", "-", "-q", *args).stdout


@pytest.mark.parametrize("required", [False, True])
def test_a_missing_local_model_skips_or_under_the_ci_flag_fails(monkeypatch, required):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "xllamacpp" else real(name, *a))
    monkeypatch.setenv(REQUIRE_LOCAL_MODELS, "1" if required else "0")
    with pytest.raises(pytest.fail.Exception if required else pytest.skip.Exception, match="xllamacpp"):
        needs_local_models()


def test_the_ci_script_sets_the_flag():
    assert f"export {REQUIRE_LOCAL_MODELS}=1" in (QUICKSTART.parent.parent / ".ci" / "run").read_text()


def test_unknown_tier_is_a_clear_error_before_any_work():
    result = twinsim("replay", str(QUICKSTART), "-r", "always:top", check=False)
    assert result.returncode != 0 and "unknown tier 'top'" in result.stderr and "Traceback" not in result.stderr


def test_export_import_merge_round_trip(tmp_path):
    twinsim("import", str(QUICKSTART), "--cache", str(tmp_path / "cache"))
    twinsim("export", str(tmp_path / "cache"), str(tmp_path / "exported"))
    exported = gzip.decompress((tmp_path / "exported" / "objects.jsonl.gz").read_bytes())
    assert exported == gzip.decompress((QUICKSTART / "objects.jsonl.gz").read_bytes())
    # the sessions that made the recording survive the trip through a cache
    manifest = json.loads((tmp_path / "exported" / "manifest.json").read_text())
    assert manifest["made_with"] == json.loads((QUICKSTART / "manifest.json").read_text())["made_with"]
    twinsim("import", str(tmp_path / "exported"), "--cache", str(tmp_path / "cache2"))
    twinsim("export", str(tmp_path / "cache2"), str(tmp_path / "reexported"))
    assert (tmp_path / "reexported" / "objects.jsonl.gz").read_bytes() == (
        tmp_path / "exported" / "objects.jsonl.gz"
    ).read_bytes()
    twinsim("merge", str(QUICKSTART), str(tmp_path / "exported"), "--out", str(tmp_path / "merged"))
    args = ("-r", "always:high", "-r", "random:seed=1")
    assert replay_json(tmp_path / "merged", *args) == replay_json(QUICKSTART, *args)


def _without_volatile(message: dict) -> dict:
    extra = {k: v for k, v in message.get("extra", {}).items() if k not in ("timestamp", "cost", "response")}
    return {k: v for k, v in message.items() if k != "extra"} | {"extra": extra}


TOOL_CALL = {"id": "call_Xy1", "type": "function", "function": {"name": "bash", "arguments": '{"command": "ls -la"}'}}


def _provider_response(content, tool_calls=None):
    import litellm

    message = {"role": "assistant", "content": content} | ({"tool_calls": tool_calls} if tool_calls else {})
    return litellm.ModelResponse(
        choices=[{"index": 0, "finish_reason": "tool_calls" if tool_calls else "stop", "message": message}],
        usage={"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
    )


@pytest.mark.parametrize(
    "model_class, content, tool_calls",
    [
        ("litellm_textbased", "THOUGHT: look.\n\n```bash\ncat tempconv/convert.py\n```", None),
        ("litellm_textbased", "I think the answer is 42.", None),  # no action: mini-swe-agent raises FormatError
        ("litellm", "let me look", [TOOL_CALL]),  # the tool-call variant
        ("litellm", "no tool call", None),
    ],
)
def test_replayed_message_is_what_mini_swe_agent_itself_returns(model_class, content, tool_calls):
    """For one provider response, RoutedModel's message equals the one mini-swe-agent's own model class returns."""
    import litellm
    from minisweagent.exceptions import FormatError
    from minisweagent.models import get_model_class

    from simulator import keys
    from simulator.config import load_agent_config, load_pool
    from simulator.replay.context import LiveBudget, MissPolicy, ReplayContext
    from simulator.replay.model import RoutedModel, response_record
    from simulator.routers.protocol import RunConfig
    from simulator.store import MemoryStore

    pool, agent = load_pool("local"), load_agent_config("textbased")
    model_config = agent.model | {"model_class": model_class}
    tier = pool.tier("low")
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "fix the bug", "extra": {"t": 1}}]
    config = {k: v for k, v in model_config.items() if k != "model_class"}
    # mini-swe-agent's own model, answering with a fixed provider response (litellm's mock_response).
    own = get_model_class("", model_class)(
        **config
        | {"model_name": tier.model, "model_kwargs": {"mock_response": _provider_response(content, tool_calls)}}
    )
    try:
        expected = own.query(messages)
    except FormatError as e:
        expected = e.messages[0]
    response = litellm.ModelResponse(**expected["extra"]["response"])

    store = MemoryStore()
    ctx = ReplayContext(
        pool=pool,
        store=store,
        policy=MissPolicy(),
        budget=LiveBudget(),
        instance_id=INSTANCE,
        run_config=RunConfig(3, 3.0, 300, 0.0),
    )
    routed = RoutedModel(
        ctx, router=type("R", (), {"select": lambda self, ctx: "low"})(), router_label="low", model_config=model_config
    )
    head = routed.chain.extend_to(messages)
    store.put(
        "response",
        keys.response_key(head, tier.spec, 0),
        response_record(response, prefix=head, tier=tier, sample=0, latency_ms=10),
    )
    try:
        got = routed.query(messages)
    except FormatError as e:
        got = e.messages[0]
    assert _without_volatile(got) == _without_volatile(expected)
    assert got["extra"]["cost"] > 0 and got["extra"]["response"] == expected["extra"]["response"]
    if tool_calls:  # observations go back as tool messages with the provider's id, like mini-swe-agent's
        output = {"output": "a", "returncode": 0, "exception_info": ""}
        assert _without_volatile(routed.format_observation_messages(got, [output])[0]) == _without_volatile(
            own.format_observation_messages(expected, [output])[0]
        )
