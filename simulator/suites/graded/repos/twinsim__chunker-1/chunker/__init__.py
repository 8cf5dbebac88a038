from .split import chunks, pairs
