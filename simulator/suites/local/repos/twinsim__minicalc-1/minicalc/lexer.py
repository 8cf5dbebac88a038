"""Split an arithmetic expression into tokens."""
import re

NUMBER = re.compile(r"\d+")
OPERATORS = "+-*/()"


def tokenize(text):
    """A list of ("num", float) and ("op", str) tokens."""
    tokens, pos = [], 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
        elif char in OPERATORS:
            tokens.append(("op", char))
            pos += 1
        elif match := NUMBER.match(text, pos):
            tokens.append(("num", float(match.group())))
            pos = match.end()
        else:
            raise ValueError(f"unexpected character {char!r} at position {pos}")
    return tokens
