"""A synchronous publish/subscribe bus."""

from .handlers import Handler


class EventBus:
    def __init__(self):
        self._handlers = {}

    def subscribe(self, event, func, once=False):
        self._handlers.setdefault(event, []).append(Handler(func, once))

    def unsubscribe(self, event, func):
        self._handlers[event] = [h for h in self._handlers.get(event, []) if h.func is not func]

    def publish(self, event, *args):
        """Call every handler of `event` in subscription order; a `once` handler only the first time."""
        handlers = self._handlers.get(event, [])
        results = []
        for handler in handlers:
            if handler.once:
                handlers.remove(handler)
            results.append(handler.func(*args))
        return results
