"""Content addresses: canonical JSON, normalized messages and the prefix trie of DESIGN.md.

Every stored object lives under the SHA-256 of its key material. Messages are
blobs; a prefix node hashes its parent node with one message blob, so the key
of step N costs work for the new messages only, never for the whole prefix.
"""

import copy
import hashlib
import json
import math
from typing import Any

SEMANTIC_FIELDS = ("role", "content", "tool_calls", "tool_call_id", "name")
# Parameters that change what a model answers; anything else (api_base, timeouts,
# retries, keys) must not split the cache.
OUTPUT_PARAMS = (
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "max_tokens",
    "max_completion_tokens",
    "seed",
    "stop",
    "tools",
    "tool_choice",
    "response_format",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "reasoning_effort",
)
ROOT = "0" * 64


def _canon(obj: Any) -> Any:
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"non-finite float {obj!r} cannot enter a key")
        # 0.0 and 0 must address the same object; other floats print the same
        # everywhere because Python's repr is the shortest round-trip form.
        return int(obj) if obj.is_integer() else obj
    if isinstance(obj, dict):
        return {str(k): _canon(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canon(v) for v in obj]
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    raise TypeError(f"{type(obj).__name__} cannot enter a key")


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8."""
    return json.dumps(_canon(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\x00")  # separator: no two part lists collide by concatenation
    return h.hexdigest()


def _content_text(content: Any) -> Any:
    """Text blocks (as cache_control rewrites them) and plain strings address alike."""
    if isinstance(content, list) and all(isinstance(b, dict) and b.get("type") == "text" for b in content):
        return "".join(b.get("text", "") for b in content)
    if isinstance(content, list):
        return [{k: v for k, v in b.items() if k != "cache_control"} for b in content]
    return content


def normalize_message(message: dict, tool_ids: dict[str, str]) -> dict:
    """Keep the semantic fields; rename provider tool-call ids positionally.

    `tool_ids` is the renaming table of the prefix so far; new ids are added to it.
    """
    out: dict[str, Any] = {}
    for field in SEMANTIC_FIELDS:
        value = message.get(field)
        if value is None or value == []:
            continue
        if field == "content":
            value = _content_text(value)
        elif field == "tool_calls":
            value = [_normalize_tool_call(call, tool_ids) for call in value]
        elif field == "tool_call_id":
            value = tool_ids.setdefault(value, f"call_{len(tool_ids)}")
        out[field] = value
    return out


def _normalize_tool_call(call: dict, tool_ids: dict[str, str]) -> dict:
    function = call.get("function") or {}
    out = {
        "type": call.get("type") or "function",
        "function": {"name": function.get("name"), "arguments": function.get("arguments")},
    }
    if call.get("id") is not None:
        out["id"] = tool_ids.setdefault(call["id"], f"call_{len(tool_ids)}")
    return out


def message_key(normalized: dict) -> str:
    return sha256("message", canonical_json(normalized))


def prefix_key(parent: str, message_blob: str) -> str:
    return sha256("prefix", parent, message_blob)


def tier_spec(model: str, params: dict) -> dict:
    """What of a tier decides its answers: the model id and output-affecting params."""
    return {"model": model, "params": {k: params[k] for k in OUTPUT_PARAMS if params.get(k) is not None}}


def response_key(prefix: str, spec: dict, sample: int) -> str:
    return sha256("response", prefix, canonical_json(spec), str(sample))


def response_keyer(spec: dict, sample: int):
    """`response_key(prefix, spec, sample)` as a function of the prefix (what a replay asks at every step)."""
    seeded = hashlib.sha256(b"response\x00")
    rest = b"\x00" + canonical_json(spec) + b"\x00" + str(sample).encode() + b"\x00"

    def key(prefix: str) -> str:
        h = seeded.copy()
        h.update(prefix.encode() + rest)
        return h.hexdigest()

    return key


def environment_root(env_spec: dict, instance_id: str) -> str:
    return sha256("environment", canonical_json(env_spec), instance_id)


def action_of(action: dict) -> dict:
    """The part of a mini-swe-agent action that decides its effect (not its tool-call id)."""
    return {k: v for k, v in action.items() if k != "tool_call_id"}


def observation_key(parent: str, action: dict) -> str:
    return sha256("observation", parent, canonical_json(action_of(action)))


def _semantic_values(message: dict) -> tuple:
    return tuple(message.get(field) for field in SEMANTIC_FIELDS)


def normalize_patch(patch: str) -> str:
    patch = patch.replace("\r\n", "\n").strip()
    return patch + "\n" if patch else ""


def evaluation_key(evaluator_spec: dict, instance_id: str, patch: str) -> str:
    return sha256("evaluation", canonical_json(evaluator_spec), instance_id, normalize_patch(patch))


class PrefixChain:
    """Prefix-node hashes of a growing message list, extended incrementally.

    mini-swe-agent only appends to its message list, so each query hashes just
    the messages added since the last one. Earlier messages are checked by content
    (a copy of their semantic fields, compared each time; not object identity), so a
    list that was edited in place is rehashed from the start, never keyed as the old one.
    """

    def __init__(self) -> None:
        self.nodes: list[str] = []  # nodes[i] = prefix node of messages[: i + 1]
        self.blobs: list[tuple[str, dict]] = []  # (message key, normalized message)
        self.tool_ids: dict[str, str] = {}
        self._seen: list[tuple] = []  # the semantic fields of each message hashed, as they were

    def extend_to(self, messages: list[dict]) -> str:
        n = len(self.nodes)
        if n > len(messages) or not self._unchanged(messages):
            self.__init__()
            n = 0
        for message in messages[n:]:
            normalized = normalize_message(message, self.tool_ids)
            blob = message_key(normalized)
            self.nodes.append(prefix_key(self.nodes[-1] if self.nodes else ROOT, blob))
            self.blobs.append((blob, normalized))
            self._seen.append(copy.deepcopy(_semantic_values(message)))
        return self.head

    def _unchanged(self, messages: list[dict]) -> bool:
        """Do the messages hashed so far still say what they said? (Equal strings compare by identity first.)"""
        return all(_semantic_values(m) == seen for m, seen in zip(messages, self._seen))

    @property
    def head(self) -> str:
        return self.nodes[-1] if self.nodes else ROOT

    def startswith(self, depth: int, node: str) -> bool:
        """Is `node` (a prefix of `depth` messages) an ancestor-or-self of this chain's head?"""
        return 0 < depth <= len(self.nodes) and self.nodes[depth - 1] == node
