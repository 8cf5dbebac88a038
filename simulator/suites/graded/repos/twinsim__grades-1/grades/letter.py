"""Letter grades from scores out of 100."""

BANDS = [(90, "A"), (80, "B"), (70, "C"), (60, "D")]


def letter(score):
    """'A' for 90 and above, 'B' for 80 and above, ... 'F' below 60."""
    if not 0 <= score <= 100:
        raise ValueError(f"score out of range: {score}")
    for floor, grade in BANDS:
        if score > floor:
            return grade
    return "F"
