"""Routers by spec: built-in names, HTTP URLs, `package.module:attr` and `path/to/file.py[:attr]`.

Built-ins are registered by dotted path, so a name costs nothing until it is used
and no router module needs another to exist.
"""

import copy
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.config import Pool
from simulator.routers.protocol import Router, RouterContext

BUILTINS: dict[str, str] = {
    "always": "simulator.routers.builtin:AlwaysRouter",
    "random": "simulator.routers.builtin:RandomRouter",
    "round-robin": "simulator.routers.builtin:RoundRobinRouter",
    "schedule": "simulator.routers.builtin:ScheduleRouter",
    "escalate": "simulator.routers.builtin:EscalateRouter",
    "budget": "simulator.routers.builtin:BudgetRouter",
    "cache-aware": "simulator.routers.builtin:CacheAwareRouter",
    "knn": "simulator.routers.knn:KnnRouter",
    "gold": "simulator.routers.gold:GoldRouter",
}
SERVICE = "simulator.routers.service:HttpRouter"


def builtin(name: str) -> type:
    """The class of a built-in router (`name` as in BUILTINS, or SERVICE for the HTTP router)."""
    module, _, attr = BUILTINS.get(name, name).partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass
class FunctionRouter:
    func: Callable[[RouterContext], Any]

    def select(self, ctx: RouterContext) -> Any:
        return self.func(ctx)


def describe(router: type) -> tuple[str, str]:
    """(spec syntax, docstring) of a built-in router: a one-line description, then its parameters."""
    return router.syntax, inspect.cleandoc(router.__doc__)


def router_factory(spec: str, pool: Pool) -> Callable[[], Router]:
    """Parse a router spec into a factory of fresh routers (one per trajectory).

    Specs: a built-in (`always:high`, `escalate:patience=2`, ... see BUILTINS),
    an URL (`http://127.0.0.1:8000/select#timeout=2`), `package.module:attr` or
    `path/to/file.py[:attr]`. `attr` may be a class (instantiated), a router
    object (deep-copied) or a function. A bad spec raises ValueError here, so
    it fails before any trajectory runs.
    """
    factory = _factory(spec, pool)
    try:
        factory()
    except (Exception, SystemExit) as e:  # a router that cannot even be made is a bad spec, not a dead replay
        raise ValueError(f"router {spec!r} cannot be created: {type(e).__name__}: {e}") from None
    return factory


def factory_of(target: Any, label: str) -> Callable[[], Router]:
    """A factory of fresh routers from a router given as code: a class (instantiated), a router object
    (deep-copied, so trajectories share no state) or a function (asked at every step)."""
    if isinstance(target, type):
        return target
    if hasattr(target, "select"):
        return lambda: copy.deepcopy(target)
    if callable(target):
        return lambda: FunctionRouter(target)
    raise ValueError(f"router {label!r} is neither a class, an object with select(), nor a function")


def _factory(spec: str, pool: Pool) -> Callable[[], Router]:
    name, _, arg = spec.partition(":")
    if name in ("http", "https"):
        service = builtin(SERVICE)
        build = lambda: service.from_spec(spec)
    elif name in BUILTINS:
        cls = builtin(name)
        build = lambda: cls.from_spec(arg, pool)
    else:
        return factory_of(_load_attr(spec), spec)
    try:
        build()
    except (ValueError, KeyError) as e:
        raise ValueError(f"bad router spec {spec!r}: {e.args[0]}") from None
    return build


def _load_attr(spec: str) -> Any:
    if ".py" in spec:
        stem, _, attr = spec.partition(".py")
        file, attr = Path(stem + ".py"), attr.removeprefix(":")
        if not file.is_file():
            raise ValueError(f"router {spec!r}: no file {file}")
        module_name = f"twinsim_router_{file.stem}"
        module_spec = importlib.util.spec_from_file_location(module_name, file)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module  # lets deepcopy and pickling find its classes
        try:
            module_spec.loader.exec_module(module)
        except (Exception, SystemExit) as e:
            raise ValueError(f"router {spec!r}: loading {file} raised {type(e).__name__}: {e}") from None
        attr = attr or next((a for a in ("router", "Router", "select") if hasattr(module, a)), "")
    else:
        module_name, sep, attr = spec.partition(":")
        if not sep:
            raise ValueError(
                f"unknown router {spec!r}: use a built-in ({', '.join(BUILTINS)}), an http(s):// URL, module:attr or "
                "file.py[:attr]"
            )
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            local = Path(*module_name.split(".")).with_suffix(".py")
            hint = (
                f" ({local} is here but not importable: use {local}:{attr}, or put its folder on PYTHONPATH)"
                if local.is_file()
                else ""
            )
            raise ValueError(f"router {spec!r}: cannot import {module_name!r}: {e}{hint}") from None
        except (Exception, SystemExit) as e:
            raise ValueError(f"router {spec!r}: importing {module_name!r} raised {type(e).__name__}: {e}") from None
    if not attr or not hasattr(module, attr):
        raise ValueError(f"router {spec!r}: no attribute {attr or 'router, Router or select'!r}")
    return getattr(module, attr)
