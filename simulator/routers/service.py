"""HTTP routers: a router service that receives each step's context as JSON and answers a tier."""

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import ClassVar

from simulator.routers.builtin import spec_number, spec_params
from simulator.routers.protocol import RouterContext, RouterDecision, RouterError, context_json


@dataclass
class HttpRouter:
    """POSTs the context as JSON to a URL, which answers {"model_id" or "tier": ..., "rationale": ...}.

    #timeout=S      seconds to wait for the answer (default 5)

    The body is `context_json(ctx)`: the RouterContext's fields, messages with their
    semantic fields only. An unreachable, slow, failing or garbled endpoint ends the
    trajectory incomplete.
    """

    syntax: ClassVar[str] = "http(s)://host:port/path[#timeout=5]"
    url: str
    timeout_sec: float = 5.0

    @classmethod
    def from_spec(cls, spec: str) -> "HttpRouter":
        url, _, fragment = spec.partition("#")
        if not urllib.parse.urlsplit(url).hostname:
            raise ValueError(f"no host in {url!r}")
        params = spec_params("an HTTP router", fragment, ("timeout",))
        return cls(url, spec_number(float, "timeout", params.get("timeout", "5"), 0.001))

    def select(self, ctx: RouterContext) -> RouterDecision:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(context_json(ctx)).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_sec) as response:
                body = response.read()
        except urllib.error.HTTPError as e:
            raise RouterError(f"the endpoint answered HTTP {e.code} {e.reason}") from None
        except (OSError, http.client.HTTPException) as e:  # URLError and timeouts are OSErrors
            reason = getattr(e, "reason", None) or e
            if isinstance(reason, TimeoutError):
                raise RouterError(f"no answer within {self.timeout_sec:g} s") from None
            raise RouterError(
                f"the request failed: {type(reason).__name__ if isinstance(reason, Exception) else 'URLError'}: "
                f"{reason}"
            ) from None
        try:
            answer = json.loads(body)
        except ValueError:
            raise RouterError(f"the endpoint answered {body[:100]!r}, not JSON") from None
        fields = answer if isinstance(answer, dict) else {}
        model_id, rationale = fields.get("model_id") or fields.get("tier"), fields.get("rationale")
        if not isinstance(model_id, str) or not isinstance(rationale, (str, type(None))):
            raise RouterError(
                f'the endpoint answered {body[:100]!r}; expected {{"model_id" or "tier": str, "rationale": str}}'
            )
        return RouterDecision(model_id, rationale)
