"""URL slugs from titles."""
import re
import unicodedata

SEPARATOR = "_"


def slugify(title, max_length=50):
    """Lowercase ASCII words of `title` joined by SEPARATOR."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", text.lower())
    slug = SEPARATOR.join(words)
    return slug[:max_length].rstrip(SEPARATOR)
