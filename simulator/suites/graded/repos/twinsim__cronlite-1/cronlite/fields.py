"""Parsing one cron field ("*", "5", "1-5", "*/15", "1,2,3") into the values it allows."""


def parse_field(text, low, high):
    values = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            start, end = (int(x) for x in part.split("-"))
        else:
            start = end = int(part)
        if not low <= start <= end <= high:
            raise ValueError(f"{text!r} is outside {low}-{high}")
        values.update(range(start, end, step) if start != end else [start])
    return values
