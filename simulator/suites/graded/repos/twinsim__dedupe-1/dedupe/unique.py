"""Removing duplicates."""


def unique(items):
    """`items` without repeats, in the order of their first appearance."""
    return list(set(items))


def duplicates(items):
    seen, dup = set(), []
    for item in items:
        if item in seen and item not in dup:
            dup.append(item)
        seen.add(item)
    return dup
