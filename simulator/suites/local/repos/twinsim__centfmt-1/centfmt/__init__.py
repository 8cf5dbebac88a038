from .money import format_cents, parse_cents

__all__ = ["format_cents", "parse_cents"]
