from .bus import EventBus
