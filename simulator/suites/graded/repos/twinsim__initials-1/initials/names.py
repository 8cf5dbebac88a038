"""Initials from personal names."""


def initials(name, sep="."):
    """'Ada Lovelace' -> 'A.L.'"""
    words = name.split()
    return "".join(w[-1].upper() + sep for w in words)


def display_name(first, last):
    return f"{first.strip()} {last.strip()}".strip()
