"""Routers: loading, the built-ins' decisions on hand-built contexts, HTTP routers, and end to end on the quickstart."""

import json
import random
import re
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import free_port, send_json, twinsim
from hypothesis import given, settings
from hypothesis import strategies as st
from minisweagent.exceptions import FormatError
from minisweagent.models.utils.actions_text import format_observation_messages, parse_regex_actions
from minisweagent.models.utils.actions_toolcall import format_toolcall_observation_messages

from simulator.cli import main
from simulator.config import load_agent_config, load_pool
from simulator.replay.promptcache import PromptCacheSimulator
from simulator.routers.builtin import step_troubles
from simulator.routers.protocol import RouterDecision, RouterError, RunConfig, context_json, decide, make_context
from simulator.routers.registry import BUILTINS, builtin, router_factory

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "recordings" / "quickstart"
POOL = load_pool("twinrouterbench")
LOCAL = load_pool("local")  # tiers low / mid / high, model ids = names
AGENT = load_agent_config("textbased").model
TASK = [{"role": "system", "content": "You fix bugs."}, {"role": "user", "content": "Fix the bug."}]


def ctx(step=0, instance="i1", *, pool=LOCAL, messages=TASK, cache=None, now=0.0, spent=0.0, budget=3.0):
    return make_context(
        instance_id=instance,
        step_index=step,
        messages=messages,
        tools=(),
        pool=pool,
        cache_state=(cache or PromptCacheSimulator(pool)).snapshot(now),
        budget_so_far_usd=spent,
        run_config=RunConfig(max_steps=10, budget_usd=budget, wallclock_ttl_sec=300, select_timeout_sec=0.0),
    )


def pick(spec, context, pool=LOCAL):
    return decide(router_factory(spec, pool)(), spec, context, pool)


# --- messages as mini-swe-agent writes them (its own parser and templates) ----------------


def step(command, returncode=0):
    content = f"THOUGHT: next.\n```bash\n{command}\n```"
    actions = parse_regex_actions(
        content, action_regex=AGENT["action_regex"], format_error_template=AGENT["format_error_template"]
    )
    observation = format_observation_messages(
        [{"output": "out", "returncode": returncode, "exception_info": ""}],
        observation_template=AGENT["observation_template"],
    )
    return [{"role": "assistant", "content": content, "extra": {"actions": actions}}, *observation]


def format_error():
    with pytest.raises(FormatError) as e:
        parse_regex_actions(
            "I will just think.",
            action_regex=AGENT["action_regex"],
            format_error_template=AGENT["format_error_template"],
        )
    return [e.value.messages[0]]


def tool_step(command, returncode, call_id):
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": "bash", "arguments": json.dumps({"command": command})},
    }
    observation = format_toolcall_observation_messages(
        actions=[{"command": command, "tool_call_id": call_id}],
        outputs=[{"output": "", "returncode": returncode, "exception_info": ""}],
        observation_template=AGENT["observation_template"],
    )
    return [{"role": "assistant", "content": "", "tool_calls": [call]}, *observation]


def test_step_troubles_reads_exit_codes_format_errors_and_repeats():
    messages = TASK + step("cat a.py") + step("python t.py", 2) + format_error() + step("cat a.py") + step("ls")
    expected = [None, "exit code 2", "a format error", "a repeated action", None]
    assert step_troubles(messages) == expected
    # The JSON view (what an HTTP router sees: no `extra`) reads the same from the rendered text.
    assert step_troubles(context_json(ctx(messages=messages))["messages"]) == expected
    tool_calls = TASK + tool_step("ls", 0, "a") + tool_step("pytest", 1, "b") + tool_step("ls", 0, "c")
    assert step_troubles(tool_calls) == [None, "exit code 1", "a repeated action"]
    assert step_troubles(TASK) == []


def test_context_carries_twinrouterbench_fields():
    c = ctx(pool=POOL)
    assert c.available_models == (
        "deepseek/deepseek-v3.2",
        "minimax/minimax-m2.7",
        "google/gemini-3-flash-preview",
        "anthropic/claude-opus-4.6",
    )
    assert c.cache_state.get("anthropic/claude-opus-4.6").prefix_token_count == 0
    assert c.run_config.budget_usd == 3.0
    view = json.loads(json.dumps(context_json(ctx(messages=TASK + step("ls")))))
    assert set(view) == {
        "instance_id",
        "step_index",
        "messages",
        "tools",
        "available_models",
        "cache_state",
        "budget_so_far_usd",
        "run_config",
    }
    assert view["messages"][2] == {
        "role": "assistant",
        "content": "THOUGHT: next.\n```bash\nls\n```",
    }  # semantic fields only
    assert view["cache_state"]["by_model"]["mid"] == {
        "model_id": "mid",
        "last_call_ts": None,
        "prefix_token_count": 0,
        "prefix_hash": None,
    }
    assert view["run_config"] == {
        "max_steps": 10,
        "budget_usd": 3.0,
        "wallclock_ttl_sec": 300,
        "select_timeout_sec": 0.0,
    }


# --- built-ins ------------------------------------------------------------------------------


def test_always_accepts_names_and_refuses_unknown_tiers():
    router = router_factory("always:mid_high", POOL)()
    assert decide(router, "always:mid_high", ctx(pool=POOL), POOL) == ("mid_high", "always")
    with pytest.raises(ValueError, match="unknown tier 'top'"):
        router_factory("always:top", POOL)


def test_random_is_reproducible_per_seed_and_instance():
    def picks(seed, instance, weights=""):
        router = router_factory(f"random:seed={seed}{weights}", POOL)()
        return [decide(router, "r", ctx(i, instance, pool=POOL), POOL)[0] for i in range(200)]

    assert picks(1, "a") == picks(1, "a")
    assert picks(1, "a") != picks(2, "a")
    assert picks(1, "a") != picks(1, "b")
    assert set(picks(1, "a")) == set(POOL.names)
    weighted = Counter(picks(1, "a", ",weights=low:3/high:1"))
    assert set(weighted) == {"low", "high"} and weighted["low"] > 2 * weighted["high"]  # unnamed tiers never drawn
    assert picks(5, "a", ",weights=low:3/high:1") == picks(5, "a", ",weights=low:3/high:1")


def test_uniform_random_keeps_the_stream_the_quickstart_was_recorded_with():
    rng = random.Random("1:inst")
    router = router_factory("random:seed=1", LOCAL)()
    assert [decide(router, "r", ctx(i, "inst"), LOCAL)[0] for i in range(30)] == [
        rng.choice(LOCAL.names) for _ in range(30)
    ]


def test_round_robin_cycles_cheapest_first():
    assert [pick("round-robin", ctx(i))[0] for i in range(5)] == ["low", "mid", "high", "low", "mid"]
    assert [pick("round-robin:tiers=high/low", ctx(i))[0] for i in range(3)] == ["high", "low", "high"]


def test_schedule_counts_lists_and_then():
    assert [pick("schedule:high=2,then=low", ctx(i))[0] for i in range(4)] == ["high", "high", "low", "low"]
    assert [pick("schedule:high=1,mid=2", ctx(i))[0] for i in range(5)] == ["high", "mid", "mid", "low", "low"]
    assert [pick("schedule:tiers=high/mid/high,then=mid", ctx(i))[0] for i in range(5)] == [
        "high",
        "mid",
        "high",
        "mid",
        "mid",
    ]


def escalations(spec, steps):
    """The tier chosen before each step of a trajectory made of `steps`, then after the last."""
    messages, tiers = list(TASK), []
    for i, s in enumerate(steps):
        tiers.append(pick(spec, ctx(i, messages=messages))[0])
        messages += s
    return tiers + [pick(spec, ctx(len(steps), messages=messages))[0]]


def test_escalate_moves_up_on_trouble_and_down_after_clean_steps():
    ok, fail = step("ls"), step("pytest", 1)
    assert escalations("escalate", [ok, fail, step("a"), format_error(), step("b"), fail]) == [
        "low",
        "low",
        "mid",
        "mid",
        "high",
        "high",
        "high",
    ]
    assert escalations("escalate", [ok, ok]) == ["low", "low", "mid"]  # the same action twice is trouble
    assert escalations("escalate:patience=2", [fail, step("a"), step("b", 2), step("c", 2)]) == [
        "low",
        "low",
        "low",
        "low",
        "mid",
    ]
    assert escalations("escalate:down_after=1", [fail, step("a"), step("b"), step("c")]) == [
        "low",
        "mid",
        "low",
        "low",
        "low",
    ]
    assert escalations("escalate:start=mid,down_after=2", [fail, step("a"), step("b"), step("c")]) == [
        "mid",
        "high",
        "high",
        "mid",
        "mid",
    ]
    assert pick("escalate", ctx(1, messages=TASK + step("ls", 1)))[1] == "escalate: up after exit code 1"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["ok", "fail", "format", "same"]), max_size=12), st.integers(1, 3), st.integers(0, 3))
def test_escalate_moves_at_most_one_tier_per_step_and_only_up_without_down_after(kinds, patience, down_after):
    steps = [
        {"ok": step(f"echo {i}"), "fail": step(f"false {i}", 1), "format": format_error(), "same": step("echo same")}[k]
        for i, k in enumerate(kinds)
    ]
    levels = [LOCAL.names.index(t) for t in escalations(f"escalate:patience={patience},down_after={down_after}", steps)]
    assert all(abs(b - a) <= 1 for a, b in zip(levels, levels[1:]))
    if not down_after:
        assert levels == sorted(levels)


def test_budget_downgrades_as_the_trajectory_spends():
    assert [pick("budget", ctx(spent=s, budget=1.0))[0] for s in (0.0, 0.49, 0.5, 0.79, 0.8, 2.0)] == [
        "high",
        "high",
        "mid",
        "mid",
        "low",
        "low",
    ]
    assert [pick("budget:usd=0.01", ctx(spent=s))[0] for s in (0.001, 0.006, 0.009)] == [
        "high",
        "mid",
        "low",
    ]  # usd= overrides run_config
    assert [pick("budget:high=0.2,mid=0.4,else=mid", ctx(spent=s, budget=1.0))[0] for s in (0.1, 0.3, 0.9)] == [
        "high",
        "mid",
        "mid",
    ]
    assert pick("budget", ctx(spent=5.0, budget=0.0))[0] == "high"  # no budget: nothing counts as spent
    assert pick("budget", ctx(spent=0.6, budget=1.0)) == ("mid", "budget: 60% spent")
    assert [pick("budget", ctx(spent=s, budget=1.0, pool=POOL), POOL)[0] for s in (0.1, 0.6, 0.9)] == [
        "high",
        "mid_high",
        "low",
    ]


def warm_cache(*calls):
    """A prompt cache after calls (tier, ts), as RoutedModel fills it."""
    cache = PromptCacheSimulator(LOCAL)
    for i, (tier, ts) in enumerate(calls):
        cache.call(tier, lambda d, n: False, depth=i + 1, node=f"n{i}", prompt_tokens=100 * (i + 1), output_tokens=0,
                   started_at=ts)  # fmt: skip
    return cache


def test_cache_aware_stays_warm_and_escalates_on_trouble():
    messages = TASK + step("ls")
    assert pick("cache-aware", ctx(0)) == ("low", "cache-aware: cold start")
    assert pick("cache-aware:start=mid", ctx(0))[0] == "mid"
    assert pick("cache-aware", ctx(1, messages=messages, cache=warm_cache(("high", 10.0)), now=20.0)) == (
        "high",
        "cache-aware: warm",
    )
    assert (
        pick("cache-aware", ctx(2, messages=messages, cache=warm_cache(("low", 10.0), ("mid", 30.0)), now=40.0))[0]
        == "mid"
    )  # the one called last
    assert (
        pick("cache-aware", ctx(1, messages=messages, cache=warm_cache(("high", 10.0)), now=400.0))[0] == "low"
    )  # past the TTL: cold
    troubled = TASK + step("pytest", 1)
    assert pick("cache-aware", ctx(1, messages=troubled, cache=warm_cache(("low", 10.0)), now=20.0)) == (
        "mid",
        "cache-aware: up after exit code 1",
    )
    assert (
        pick("cache-aware:patience=2", ctx(1, messages=troubled, cache=warm_cache(("low", 10.0)), now=20.0))[0] == "low"
    )
    assert (
        pick("cache-aware", ctx(1, messages=troubled, cache=warm_cache(("high", 10.0)), now=20.0))[0] == "high"
    )  # already at the top


@pytest.mark.parametrize(
    "spec",
    [
        "random:seed=3,weights=low:1/mid:2/high:3",
        "round-robin",
        "schedule:high=2",
        "escalate:down_after=1",
        "budget:usd=0.01",
        "cache-aware",
    ],
)
def test_builtins_are_deterministic(spec):
    contexts = [
        ctx(
            i,
            "inst",
            messages=TASK + sum((step(f"c{j % 3}", j % 2) for j in range(i)), []),
            spent=0.002 * i,
            cache=warm_cache(("mid", 1.0 * i)),
            now=1.0 * i + 1,
        )
        for i in range(8)
    ]

    def run():
        router = router_factory(spec, LOCAL)()
        return [decide(router, spec, c, LOCAL) for c in contexts]

    assert run() == run()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nonsense", "unknown router 'nonsense'"),
        ("escalate:patience=0", "patience=0 is below 1"),
        ("escalate:patience=two", "patience='two' is not an integer"),
        ("escalate:speed=2", "unknown parameter 'speed'; escalate takes start, patience, down_after"),
        ("escalate:start=top", "unknown tier 'top'"),
        ("random:seed=1,seed=2", "parameter 'seed' given twice"),
        ("random:weights=low", "weights item 'low' is not tier:weight"),
        ("random:weights=top:1", "unknown tier 'top'"),
        ("round-robin:tiers=low/top", "unknown tier 'top'"),
        ("schedule:then=low", "the schedule is empty"),
        ("schedule:tiers=high,mid=1", "either tiers=... or <tier>=K"),
        ("budget:low", "'low' is not key=value"),
        ("budget:usd=0", "usd=0 is below"),
        ("cache-aware:else=low", "unknown parameter 'else'"),
        ("http://", "no host"),
        ("http://127.0.0.1:1/x#timeout=soon", "timeout='soon' is not a number"),
        ("missing.py:x", "no file"),
        ("no_such_module_xyz:r", "cannot import"),
    ],
)
def test_bad_specs_are_clear(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)) as e:
        router_factory(spec, LOCAL)
    assert spec in str(e.value)


def test_a_module_that_is_a_file_here_gets_a_hint(tmp_path, monkeypatch):
    (tmp_path / "my_router_here.py").write_text("class R:\n    def select(self, ctx):\n        return 'low'\n")
    monkeypatch.chdir(tmp_path)  # the console script does not put the current folder on sys.path
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    with pytest.raises(ValueError, match=re.escape("use my_router_here.py:R, or put its folder on PYTHONPATH")):
        router_factory("my_router_here:R", LOCAL)


def test_twinsim_routers_lists_every_builtin_with_its_syntax():
    out = CliRunner().invoke(main, ["routers"]).output
    for name in BUILTINS:
        router = builtin(name)
        assert router.syntax in out and router.__doc__.strip().splitlines()[0] in out
    assert "http(s)://" in out and "examples/custom_router.py" in out


# --- custom routers -------------------------------------------------------------------------


def test_model_ids_and_plain_functions_work(tmp_path):
    module = tmp_path / "my_router.py"
    module.write_text(
        "def pick(ctx):\n"
        "    return 'anthropic/claude-opus-4.6' if ctx.step_index == 0 else 'low'\n"
        "class Counting:\n"
        "    def __init__(self):\n"
        "        self.n = 0\n"
        "    def select(self, ctx):\n"
        "        self.n += 1\n"
        "        return 'high' if self.n > 1 else 'low'\n"
        "class NeedsArgs:\n"
        "    def __init__(self, x):\n"
        "        pass\n"
    )
    fn = router_factory(f"{module}:pick", POOL)()
    assert decide(fn, "f", ctx(0, pool=POOL), POOL)[0] == "high"
    assert decide(fn, "f", ctx(1, pool=POOL), POOL)[0] == "low"
    factory = router_factory(f"{module}:Counting", POOL)
    first, fresh = factory(), factory()
    assert [decide(first, "c", ctx(i, pool=POOL), POOL)[0] for i in range(2)] == ["low", "high"]
    assert decide(fresh, "c", ctx(0, pool=POOL), POOL)[0] == "low"  # a fresh router per trajectory
    with pytest.raises(ValueError, match="cannot be created: TypeError"):
        router_factory(f"{module}:NeedsArgs", POOL)
    (tmp_path / "broken.py").write_text("import no_such_module_xyz\n")
    with pytest.raises(ValueError, match="raised ModuleNotFoundError"):
        router_factory(f"{tmp_path / 'broken.py'}:r", POOL)


def test_a_failing_router_names_router_step_and_instance():
    class Raises:
        def select(self, ctx):
            raise ZeroDivisionError("boom")

    class Unknown:
        def select(self, ctx):
            return RouterDecision("gpt-9")

    with pytest.raises(RouterError, match=r"router 'x' at step 3 of inst raised ZeroDivisionError: boom"):
        decide(Raises(), "x", ctx(3, "inst"), POOL)
    with pytest.raises(RouterError, match=r"router 'u' at step 0 of i1: unknown tier 'gpt-9'"):
        decide(Unknown(), "u", ctx(), POOL)
    with pytest.raises(RouterError, match="expected a RouterDecision"):
        decide(type("N", (), {"select": lambda self, c: 3})(), "n", ctx(), POOL)


def test_the_example_router_reads_cache_budget_and_run_config():
    spec = f"{ROOT / 'examples' / 'custom_router.py'}:WarmUnderBudget"
    assert pick(spec, ctx(0)) == ("high", "read the task with the strongest model")
    assert pick(spec, ctx(1, cache=warm_cache(("high", 5.0)), now=9.0)) == ("high", "high is warm (100 tokens cached)")
    assert pick(spec, ctx(1, cache=warm_cache(("high", 5.0)), now=900.0)) == ("low", "nothing warm")
    assert pick(spec, ctx(2, spent=2.0, budget=3.0)) == ("low", "spent $2.0000 of $3.0")


# --- HTTP routers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def router_server():
    """A real HTTP router service: /tier/<name> answers that tier; /hang, /garbage, /fail, /wrong misbehave."""
    bodies: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            bodies.append({"path": self.path, **body})
            if self.path == "/hang":
                time.sleep(3)
            if self.path == "/fail":
                self.send_error(503, "busy")
                return
            answer = {
                "/garbage": b"<html>not json</html>",
                "/wrong": json.dumps({"choice": "high"}).encode(),
            }.get(
                self.path,
                json.dumps({"tier": self.path.rsplit("/", 1)[-1], "rationale": f"step {body['step_index']}"}).encode(),
            )
            send_json(self, 200, answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    server.shutdown()


def test_http_router_answers_and_failures(router_server):
    base, bodies = router_server
    assert pick(f"{base}/tier/mid", ctx(4, "inst")) == ("mid", "step 4")
    assert bodies[-1]["instance_id"] == "inst" and bodies[-1]["available_models"] == ["low", "mid", "high"]
    failures = {
        f"{base}/hang#timeout=0.3": "no answer within 0.3 s",
        f"{base}/garbage": "the endpoint answered b'<html>not json</html>', not JSON",
        f"{base}/wrong": 'expected {"model_id" or "tier": str',
        f"{base}/fail": "the endpoint answered HTTP 503",
        f"http://127.0.0.1:{free_port()}/select": "the request failed: ConnectionRefusedError",
        f"{base}/tier/gpt-9": "unknown tier 'gpt-9'",
    }
    for spec, message in failures.items():
        with pytest.raises(RouterError) as e:
            pick(spec, ctx(2, "inst"))
        assert str(e.value).startswith(f"router {spec!r} at step 2 of inst") and message in str(e.value)


def test_http_routers_end_to_end(router_server):
    base, bodies = router_server
    instance = "twinsim__tempconv-1"
    hang, garbage = f"{base}/hang#timeout=0.5", f"{base}/garbage"
    start = time.monotonic()
    report = json.loads(
        twinsim(
            "replay",
            str(QUICKSTART),
            "-i",
            instance,
            "-r",
            f"{base}/tier/high",
            "-r",
            hang,
            "-r",
            garbage,
            "-r",
            "always:high",
            "--json",
            "-",
            "-q",
        ).stdout
    )
    assert time.monotonic() - start < 60
    http_high, hung, garbled, always = report["runs"]
    assert [s["tier"] for s in http_high["steps"]] == [s["tier"] for s in always["steps"]]
    assert (http_high["status"], http_high["spend_usd"]) == (always["status"], always["spend_usd"]) and always[
        "status"
    ] != "incomplete"
    assert [s["rationale"] for s in http_high["steps"]] == [f"step {i}" for i in range(len(always["steps"]))]
    assert (
        hung["status"] == "incomplete"
        and hung["reason"] == f"router {hang!r} at step 0 of {instance}: no answer within 0.5 s"
    )
    assert garbled["status"] == "incomplete" and garbled["reason"].startswith(
        f"router {garbage!r} at step 0 of {instance}: the endpoint answered"
    )
    served = [b for b in bodies if b["path"] == "/tier/high" and b["instance_id"] == instance]
    assert [b["step_index"] for b in served] == list(range(len(always["steps"])))
    assert served[-1]["messages"][0]["role"] == "system" and served[-1]["run_config"]["max_steps"] > 0


# --- end to end on the quickstart -----------------------------------------------------------

STATEFUL = [
    "random:seed=4,weights=low:1/high:2",
    "round-robin",
    "schedule:high=2,then=low",
    "escalate",
    "escalate:start=mid,patience=2,down_after=1",
    "budget:usd=0.005",
    "cache-aware",
    "cache-aware:start=high",
]


@pytest.fixture(scope="module")
def builtin_report():
    return twinsim(
        "replay",
        str(QUICKSTART),
        "--on-miss",
        "error",
        "-q",
        "--json",
        "-",
        *[a for spec in STATEFUL for a in ("-r", spec)],
    ).stdout


def test_every_builtin_replays_strictly_and_reports_incomplete_runs_with_reasons(builtin_report):
    report = json.loads(builtin_report)
    assert [a["router"] for a in report["routers"]] == STATEFUL
    for run in report["runs"]:
        assert run["live"] == {}
        if run["status"] == "incomplete":
            assert "miss" in run["reason"], run  # it left the recorded tree; the reason says where
        assert all(s["rationale"] for s in run["steps"])
        assert "router_ms" not in json.dumps(run)  # wall time never enters the JSON
    tiers = lambda router: {s["tier"] for r in report["runs"] if r["router"] == router for s in r["steps"]}
    assert tiers("round-robin") >= {"low", "mid"} and tiers("cache-aware:start=high") == {"high"}


def test_stateful_builtins_give_the_same_json_with_two_jobs(builtin_report):
    again = twinsim(
        "replay",
        str(QUICKSTART),
        "--on-miss",
        "error",
        "-q",
        "--json",
        "-",
        "--jobs",
        "2",
        *[a for spec in STATEFUL for a in ("-r", spec)],
    ).stdout
    assert again == builtin_report


def test_the_example_router_and_failing_routers_on_the_quickstart(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def unknown(ctx):\n    return 'gpt-9' if ctx.step_index == 1 else 'high'\ndef raises(ctx):\n    return 1 / 0\n"
    )
    example = "examples/custom_router.py:WarmUnderBudget"
    out = twinsim(
        "replay",
        "recordings/quickstart",
        "-r",
        example,
        "-r",
        f"{bad}:unknown",
        "-r",
        f"{bad}:raises",
        "-r",
        "always:high",
        "--json",
        "-",
        "-q",
        cwd=ROOT,
    ).stdout
    report = json.loads(out)
    by_router = {}
    for run in report["runs"]:
        by_router.setdefault(run["router"], []).append(run)
    assert all(r["status"] != "incomplete" for r in by_router["always:high"])
    for run in by_router[example]:
        assert run["steps"][0]["rationale"] == "read the task with the strongest model"
        assert all(s["rationale"].endswith("tokens cached)") for s in run["steps"][1:])
    stopped = [r for r in by_router[f"{bad}:unknown"] if r["status"] == "incomplete"]
    assert stopped  # every trajectory that reached step 1
    for run in stopped:
        assert (
            run["reason"] == f"router '{bad}:unknown' at step 1 of {run['instance_id']}: "
            "unknown tier 'gpt-9'; pool 'local' has low, mid, high"
        )
    for run in by_router[f"{bad}:raises"]:
        assert (
            run["reason"]
            == f"router '{bad}:raises' at step 0 of {run['instance_id']} raised ZeroDivisionError: division by zero"
        )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("escalate:patience=0", "patience=0 is below 1"),
        ("budget:top=0.5", "unknown parameter 'top'"),
        ("nope", "unknown router 'nope'"),
    ],
)
def test_a_bad_spec_is_a_cli_error_before_any_replay(spec, message):
    result = CliRunner().invoke(main, ["replay", str(QUICKSTART), "-r", "always:high", "-r", spec, "-q"])
    assert result.exit_code == 1 and message in result.output and result.exception.__class__ is SystemExit
    assert "twinsim replay" not in result.output  # no table: nothing was replayed


def test_select_latency_is_timed_per_step(tmp_path):
    from simulator.replay.engine import run_replays
    from simulator.replay.setup import Setup

    slow = tmp_path / "slow.py"
    slow.write_text("import time\ndef select(ctx):\n    time.sleep(0.02)\n    return 'high'\n")
    setup = Setup.from_recording(QUICKSTART)
    slow_run, fast_run = run_replays(setup, [str(slow), "always:high"], ["twinsim__tempconv-1"], show_progress=False)
    assert slow_run.steps and all(s.router_ms >= 20 for s in slow_run.steps)
    assert all(0 <= s.router_ms < 20 for s in fast_run.steps)
    assert "router_ms" not in slow_run.model_dump_json()
