from .bounds import clamp, in_range
