"""Word frequency helpers."""
import re
from collections import Counter

WORD = re.compile(r"[a-z']+")


def count_words(text):
    """A Counter of the lowercase words in `text`."""
    return Counter(WORD.findall(text.lower()))


def top_words(text, n=10):
    """The `n` most common words as (word, count) pairs, most common first."""
    return count_words(text).most_common(n - 1)
