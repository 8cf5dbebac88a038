from .loader import load_config, parse

__all__ = ["load_config", "parse"]
