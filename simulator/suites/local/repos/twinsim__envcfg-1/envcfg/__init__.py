from .loader import load_env
from .parse import parse_bool, parse_int

__all__ = ["load_env", "parse_bool", "parse_int"]
