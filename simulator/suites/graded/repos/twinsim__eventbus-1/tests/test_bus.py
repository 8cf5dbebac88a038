from eventbus.bus import EventBus


def test_handlers_in_order():
    bus, seen = EventBus(), []
    bus.subscribe("e", lambda x: seen.append(("a", x)))
    bus.subscribe("e", lambda x: seen.append(("b", x)))
    bus.publish("e", 1)
    assert seen == [("a", 1), ("b", 1)]


def test_unsubscribe():
    bus, seen = EventBus(), []

    def handler(x):
        seen.append(x)

    bus.subscribe("e", handler)
    bus.unsubscribe("e", handler)
    bus.publish("e", 1)
    assert seen == []


def test_unknown_event():
    assert EventBus().publish("nothing") == []
