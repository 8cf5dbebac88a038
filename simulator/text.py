"""Messages as text: the one rule for what a message says (routers, static costs, kNN features, reports).

The rules are TwinRouterBench's (`main/tokenizer.py`): `content_text` is its
`_normalise_content`, `billable_text` its `_message_text`, `fingerprint` its
`_semantic_fingerprint`. Content addresses (`keys.normalize_message`) follow
their own, older rule and must not change with these.
"""

import json
from collections.abc import Mapping
from typing import Any

FINGERPRINT_FIELDS = ("role", "content", "tool_calls", "tool_call_id", "name")


def _text_parts(content: Any) -> list[str]:
    """A string content whole; of content blocks, the non-empty `text` of each dict block and every string block."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            str(block.get("text")) if isinstance(block, Mapping) else block
            for block in content
            if (isinstance(block, Mapping) and block.get("text")) or isinstance(block, str)
        ]
    return []


def content_text(content: Any) -> str:
    """A message's content as text: a string as is, text blocks joined by newlines, anything else empty."""
    return "\n".join(_text_parts(content))


def billable_text(message: Mapping) -> str:
    """What a message bills as: its text parts, then each tool call's name and arguments, joined by newlines.

    An empty string content is a part too, so a tool-call message with `content: ""`
    bills as newline + name + newline + arguments (with `content: None`, name + newline
    + arguments). A missing or null tool name counts as empty.
    """
    parts = _text_parts(message.get("content"))
    for call in message.get("tool_calls") or []:
        function = call.get("function", call) if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping):
            continue
        parts.append(function.get("name") or "")
        args = function.get("arguments", "")
        if isinstance(args, dict):
            parts.append(json.dumps(args, ensure_ascii=False))
        elif args:
            parts.append(str(args))
    return "\n".join(parts)


def fingerprint(message: Mapping) -> str:
    """A message's identity for prefix matching: the fields it has of role, content (as text), tool calls,
    tool-call id and name, as written. `None` and `""` content are equal; tool-call ids are not renamed;
    tool calls compare whole; a `name: None` differs from no name."""
    fields = {}
    for field in FINGERPRINT_FIELDS:
        if field in message:
            value = message[field]
            if field == "content":
                value = content_text(value) if isinstance(value, str | list) else "" if value is None else str(value)
            fields[field] = value
    return json.dumps(fields, sort_keys=True, ensure_ascii=False)
