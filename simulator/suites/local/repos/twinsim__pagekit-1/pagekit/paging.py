"""Split sequences into numbered pages (pages start at 1)."""


def page_count(total, per_page):
    """Number of pages needed to show `total` items, `per_page` at a time."""
    if per_page < 1:
        raise ValueError("per_page must be at least 1")
    return total // per_page


def get_page(items, page, per_page):
    """The items on page number `page` (1-based)."""
    if not 1 <= page <= max(page_count(len(items), per_page), 1):
        raise IndexError(f"page {page} out of range")
    start = (page - 1) * per_page
    return items[start:start + per_page]
