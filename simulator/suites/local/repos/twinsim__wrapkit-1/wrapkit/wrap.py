"""Greedy word wrapping."""


def wrap(text, width=70):
    """Split `text` into lines of at most `width` characters, breaking at spaces."""
    lines, current = [], ""
    for word in text.split():
        if not current:
            current = word
        elif len(current) + 1 + len(word) < width:
            current += " " + word
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def fill(text, width=70):
    """`text` wrapped to `width` as a single string."""
    return "\n".join(wrap(text, width))
