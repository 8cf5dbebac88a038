"""Keys: canonical JSON and the prefix trie (property tests)."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import keys

text = st.text(max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**9), 10**9) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
roles = st.sampled_from(["system", "user", "assistant", "tool"])
messages = st.builds(lambda role, content: {"role": role, "content": content}, roles, text)


@given(st.dictionaries(text, json_values, max_size=6))
def test_canonical_json_ignores_dict_order(d):
    reversed_order = dict(reversed(list(d.items())))
    assert keys.canonical_json(d) == keys.canonical_json(reversed_order)
    assert json.loads(keys.canonical_json(d)) == json.loads(json.dumps(d))


@given(st.text())
def test_unicode_is_stored_as_utf8_and_stable(s):
    assert keys.canonical_json({"c": s}) == json.dumps({"c": s}, ensure_ascii=False, separators=(",", ":")).encode()


def test_integral_floats_address_like_ints_and_nan_is_refused():
    assert keys.tier_spec("m", {"temperature": 0.0}) == keys.tier_spec("m", {"temperature": 0})
    assert keys.canonical_json({"t": 0.7}) == b'{"t":0.7}'
    try:
        keys.canonical_json({"t": float("nan")})
    except ValueError:
        pass
    else:
        raise AssertionError("NaN entered a key")


@given(st.lists(messages, min_size=1, max_size=8), st.data())
def test_volatile_fields_never_enter_a_key(msgs, data):
    noisy = [
        m | {"extra": {"timestamp": data.draw(st.floats(0, 1e9))}, "cache_control": {"type": "ephemeral"}} for m in msgs
    ]
    assert keys.PrefixChain().extend_to(msgs) == keys.PrefixChain().extend_to(noisy)


@given(text)
def test_text_blocks_and_strings_address_alike(s):
    a = keys.PrefixChain().extend_to([{"role": "user", "content": s}])
    b = keys.PrefixChain().extend_to(
        [{"role": "user", "content": [{"type": "text", "text": s, "cache_control": {"type": "ephemeral"}}]}]
    )
    assert a == b


def _tool_turn(call_id: str, command: str) -> list[dict]:
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": "bash", "arguments": json.dumps({"command": command})},
    }
    return [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": "ok"},
    ]


@given(
    st.lists(st.tuples(st.text(min_size=1, max_size=12), text), min_size=1, max_size=4, unique_by=lambda t: t[0]),
    st.data(),
)
def test_provider_tool_call_ids_are_renamed_positionally(turns, data):
    other_ids = data.draw(
        st.lists(st.text(min_size=1, max_size=12), min_size=len(turns), max_size=len(turns), unique=True)
    )
    a = [m for call_id, cmd in turns for m in _tool_turn(call_id, cmd)]
    b = [m for (_, cmd), call_id in zip(turns, other_ids) for m in _tool_turn(call_id, cmd)]
    assert keys.PrefixChain().extend_to(a) == keys.PrefixChain().extend_to(b)


@settings(max_examples=200)
@given(st.lists(messages, min_size=1, max_size=6), st.lists(messages, min_size=1, max_size=6))
def test_different_content_gives_different_keys(a, b):
    normalized = lambda ms: [keys.normalize_message(m, {}) for m in ms]
    if normalized(a) != normalized(b):
        assert keys.PrefixChain().extend_to(a) != keys.PrefixChain().extend_to(b)


@given(st.lists(messages, min_size=2, max_size=10), st.integers(1, 9))
def test_incremental_chain_equals_chain_from_scratch(msgs, cut):
    cut = min(cut, len(msgs) - 1)
    chain = keys.PrefixChain()
    growing = msgs[:cut]
    chain.extend_to(growing)
    growing.extend(msgs[cut:])
    assert chain.extend_to(growing) == keys.PrefixChain().extend_to(list(msgs))
    assert chain.startswith(cut, keys.PrefixChain().extend_to(msgs[:cut]))


def test_a_list_changed_in_place_is_rehashed():
    chain = keys.PrefixChain()
    msgs = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    chain.extend_to(msgs)
    msgs[-1] = {"role": "assistant", "content": "c"}
    assert chain.extend_to(msgs) == keys.PrefixChain().extend_to(msgs)


@given(st.lists(messages, min_size=1, max_size=8), st.data())
def test_a_message_edited_in_place_is_keyed_by_what_it_says_now(msgs, data):
    """The same list and the same message objects, edited: the chain follows content, not identity."""
    tool_message = {"role": "assistant", "content": "", "tool_calls": [{"id": "a", "function": {"name": "bash"}}]}
    msgs = [*msgs, tool_message]
    chain = keys.PrefixChain()
    before = chain.extend_to(msgs)
    i = data.draw(st.integers(0, len(msgs) - 1))
    edit = data.draw(st.sampled_from(["content", "role", "tool_calls", "name"]))
    if edit == "tool_calls" and i == len(msgs) - 1:
        msgs[i]["tool_calls"][0]["function"]["name"] = "python"  # nested, in place
    elif edit == "content":
        msgs[i]["content"] = (msgs[i]["content"] or "") + "!"
    elif edit == "role":
        msgs[i]["role"] = "user" if msgs[i]["role"] != "user" else "system"
    else:
        msgs[i]["name"] = "someone"
    assert chain.extend_to(msgs) == keys.PrefixChain().extend_to(msgs) != before


def test_per_step_key_work_is_proportional_to_new_messages(monkeypatch):
    calls = []
    original = keys.normalize_message
    monkeypatch.setattr(keys, "normalize_message", lambda m, ids: calls.append(1) or original(m, ids))
    chain, msgs = keys.PrefixChain(), []
    for step in range(300):
        msgs += [{"role": "assistant", "content": f"step {step}"}, {"role": "user", "content": "output"}]
        before = len(calls)
        chain.extend_to(msgs)
        assert len(calls) - before == 2


@given(st.lists(messages, min_size=1, max_size=4), st.integers(0, 3), st.integers(0, 3))
def test_each_sample_has_its_own_key(msgs, i, j):
    head = keys.PrefixChain().extend_to(msgs)
    spec = keys.tier_spec("openai/m", {"temperature": 0.7, "api_base": "http://x"})
    assert (keys.response_key(head, spec, i) == keys.response_key(head, spec, j)) == (i == j)


def test_api_base_and_keys_do_not_split_the_cache():
    assert keys.tier_spec("m", {"temperature": 0, "api_base": "a", "api_key": "k"}) == keys.tier_spec(
        "m", {"temperature": 0}
    )


def test_observation_chain_ignores_tool_call_ids_and_depends_on_history():
    root = keys.environment_root({"env": "local"}, "inst")
    a1 = keys.observation_key(root, {"command": "ls", "tool_call_id": "x"})
    assert a1 == keys.observation_key(root, {"command": "ls", "tool_call_id": "y"})
    assert keys.observation_key(a1, {"command": "pwd"}) != keys.observation_key(root, {"command": "pwd"})


def test_patch_normalization():
    assert keys.evaluation_key({}, "i", "diff\r\n+x\r\n") == keys.evaluation_key({}, "i", "diff\n+x\n\n")


@given(st.dictionaries(text, json_values, max_size=4), st.text(), st.integers(0, 99), st.text(max_size=70))
def test_a_response_keyer_gives_the_response_key(params, model, sample, prefix):
    spec = keys.tier_spec(model, params)
    assert keys.response_keyer(spec, sample)(prefix) == keys.response_key(prefix, spec, sample)
