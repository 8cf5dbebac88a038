"""Format and parse integer cent amounts."""


def format_cents(cents, symbol="$"):
    """1234 -> "$12.34", -5 -> "-$0.05"."""
    dollars, rest = divmod(cents, 100)
    sign = "-" if cents < 0 else ""
    return f"{sign}{symbol}{abs(dollars):,}.{rest:02d}"


def parse_cents(text, symbol="$"):
    """Inverse of format_cents: "-$1,234.50" -> -123450."""
    text = text.strip().replace(symbol, "").replace(",", "")
    sign = -1 if text.startswith("-") else 1
    whole, _, frac = text.lstrip("-").partition(".")
    return sign * (int(whole or 0) * 100 + int((frac + "00")[:2]))
