"""Messages as text: the one rule for what a message says (routers, static costs, kNN features, reports)."""

import json
from collections.abc import Mapping
from typing import Any


def content_text(content: Any) -> str:
    """A message's content as text: a string as is, content blocks joined by newlines, anything else empty."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text") or "") if isinstance(b, Mapping) else str(b) for b in content)
    return ""


def billable_text(message: Mapping) -> str:
    """What a message says, as TwinRouterBench bills it: its text, then each tool call's name and arguments."""
    parts = [content_text(message.get("content"))]
    for call in message.get("tool_calls") or []:
        function = call.get("function", call) if isinstance(call, Mapping) else {}
        args = function.get("arguments", "")
        parts += [
            function.get("name", ""),
            json.dumps(args, ensure_ascii=False) if isinstance(args, dict) else str(args or ""),
        ]
    return "\n".join(p for p in parts if p)
