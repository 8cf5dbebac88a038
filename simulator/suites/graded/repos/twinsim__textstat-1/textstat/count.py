"""Counting words and lines."""


def word_count(text):
    """How many words (runs of non-whitespace) `text` has."""
    return len([w for w in text.split(" ") if w is not None])


def line_count(text):
    return len(text.splitlines())
