"""No credential is ever stored, without a model server: what is kept of a provider response drops every
credential-like field at any depth, and a record whose key comes from an environment variable writes that key
nowhere (recording, cache, report, output), also when the provider is unreachable and the error is stored."""

import gzip
import json

import litellm
from conftest import INSTANCE, TEST_KEY, twinsim, write_agent, write_pool
from hypothesis import given
from hypothesis import strategies as st

from simulator.config import load_pool
from simulator.keys import canonical_json
from simulator.replay.model import SECRET_MARKERS, response_record, scrub

CREDENTIAL_FIELDS = ("api_key", "Authorization", "x-api-key", "client_secret", "headers", "OPENAI_APIKEY")


def test_a_response_record_keeps_the_answer_and_drops_every_credential_like_field():
    response = litellm.ModelResponse(
        choices=[{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ls"}}],
        usage={"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
    )
    # Providers and proxies echo request details in extra response fields; litellm keeps unknown ones.
    for name in CREDENTIAL_FIELDS:
        setattr(response, name, TEST_KEY if name != "headers" else {"Authorization": f"Bearer {TEST_KEY}"})
    response.provider_details = {"request": {"Authorization": f"Bearer {TEST_KEY}", "model": "m"}, "api_key": TEST_KEY}
    tier = load_pool("local").tier("low")
    record = response_record(response, prefix="p" * 64, tier=tier, sample=0, latency_ms=1)
    stored = canonical_json(record).decode()
    assert TEST_KEY not in stored and "Bearer" not in stored
    assert record["message"]["content"] == "ls" and record["usage"]["prompt_tokens"] == 5
    assert record["raw"]["provider_details"] == {"request": {"model": "m"}}  # the harmless part stays


keys = st.one_of(st.text(max_size=8), st.sampled_from(CREDENTIAL_FIELDS + ("Proxy-Authorization", "aws_secret")))
trees = st.recursive(
    st.one_of(st.none(), st.integers(), st.text(max_size=8)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)


def _keys(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _keys(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _keys(v)


@given(trees)
def test_scrub_leaves_no_credential_like_key_at_any_depth_and_keeps_the_rest(tree):
    scrubbed = scrub(tree)
    assert not any(m in str(k).lower() for k in _keys(scrubbed) for m in SECRET_MARKERS)
    assert scrub(scrubbed) == scrubbed  # nothing more to drop
    if not any(m in str(k).lower() for k in _keys(tree) for m in SECRET_MARKERS):
        assert scrubbed == tree


def test_a_key_from_the_environment_is_written_nowhere_even_in_a_failed_call(tmp_path):
    pool = write_pool(tmp_path / "pool.yaml", "http://127.0.0.1:9")  # key from TWINSIM_TEST_KEY; nothing listens
    result = twinsim(
        "record",
        "--pool",
        str(pool),
        "--agent",
        str(write_agent(tmp_path / "agent.yaml")),
        "-r",
        "always:low",
        "-i",
        INSTANCE,
        "--out",
        str(tmp_path / "recording"),
        "--cache",
        str(tmp_path / "cache"),
        "--json",
        str(tmp_path / "report.json"),
        "--html",
        str(tmp_path / "report.html"),
    )
    run = json.loads((tmp_path / "report.json").read_text())["runs"][0]
    # an unreachable provider ends the trajectory cleanly, and the error is stored
    assert run["status"] == "incomplete"
    assert "live call to tier low (openai/smollm2-135m) failed at step 0" in run["reason"]
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name not in ("pool.yaml", "agent.yaml")]
    assert any(p.parent.name == "cache" for p in written) and any(p.name == "objects.jsonl.gz" for p in written)
    for path in written:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        assert TEST_KEY.encode() not in data and b"Bearer " not in data, path
    assert TEST_KEY not in result.stdout + result.stderr
