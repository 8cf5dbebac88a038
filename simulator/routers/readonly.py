"""Read-only views of the agent's messages, as routers see them: reading costs nothing, editing raises TypeError.

A router gets the agent's own message objects, so an edit in place would change
what the agent sends next and what the replay keys it under. `FrozenDict` and
`FrozenList` are a dict and a list (so `isinstance`, `json.dumps` and equality
work as for plain ones) holding a shallow copy of one level; nested containers
are wrapped when read, so nothing is copied deeper than what a router touches.
`copy.deepcopy(view)` and `view.copy()` give plain, editable copies.

A trajectory's messages are one `FrozenList` built incrementally (`follow`, `grow`): a step adds the
agent's new messages to it instead of copying the whole list again, so a router that keeps
`ctx.messages` from an earlier step sees it grow (`list(ctx.messages)` keeps one step's messages).
"""

import copy
import operator
from typing import Any

HINT = "router context messages are read-only; copy.deepcopy(...) gives an editable copy"


def freeze(value: Any) -> Any:
    """A read-only view of a dict or list (already frozen values and everything else as they are)."""
    if isinstance(value, dict) and not isinstance(value, FrozenDict):
        return FrozenDict(value)
    if isinstance(value, list) and not isinstance(value, FrozenList):
        return FrozenList(value)
    return value


def grow(view: "FrozenList", messages) -> None:
    """Add messages to a trajectory's view (its owner may; a router may not)."""
    list.extend(view, messages)


def follow(view: "FrozenList | None", messages: list) -> "FrozenList":
    """`view` grown to the agent's `messages` when they only added to what it holds; else a new view of them."""
    n = len(view) if view is not None else -1  # map() stops at the view's end: its messages, compared by identity
    if 0 <= n <= len(messages) and all(map(operator.is_, list.__iter__(view), messages)):
        grow(view, messages[n:])
        return view
    return FrozenList(messages)


def _refuse(name: str):
    def refuse(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__}.{name}: {HINT}")

    refuse.__name__ = name
    return refuse


class _Frozen:
    """What both views share: copies are plain and editable (deep), and a pickle is the plain container."""

    __slots__ = ()

    def _plain(self):
        raise NotImplementedError

    def copy(self):
        return copy.deepcopy(self._plain())

    def __deepcopy__(self, memo):
        return copy.deepcopy(self._plain(), memo)

    def __copy__(self):
        return self.copy()

    def __reduce_ex__(self, protocol):
        plain = self._plain()
        return type(plain), (plain,)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._plain()!r})"


class FrozenDict(_Frozen, dict):
    __slots__ = ()

    def _plain(self) -> dict:
        return dict.copy(self)

    def __getitem__(self, key):
        return freeze(dict.__getitem__(self, key))

    def get(self, key, default=None):
        return freeze(dict.get(self, key, default))

    def items(self):
        return [(k, freeze(v)) for k, v in dict.items(self)]

    def values(self):
        return [freeze(v) for v in dict.values(self)]


class FrozenList(_Frozen, list):
    __slots__ = ()

    def _plain(self) -> list:
        return list.copy(self)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return FrozenList(list.__getitem__(self, index))
        return freeze(list.__getitem__(self, index))

    def __iter__(self):
        return map(freeze, list.__iter__(self))

    def __reversed__(self):
        return map(freeze, list.__reversed__(self))


for _name in ("__setitem__", "__delitem__", "__ior__", "clear", "pop", "popitem", "setdefault", "update"):
    setattr(FrozenDict, _name, _refuse(_name))
_LIST_EDITS = ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend", "insert", "pop", "remove")
for _name in (*_LIST_EDITS, "clear", "sort", "reverse"):
    setattr(FrozenList, _name, _refuse(_name))
