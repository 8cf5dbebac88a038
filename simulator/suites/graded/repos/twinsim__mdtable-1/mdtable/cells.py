def cell_text(value):
    """A cell's text: None is empty, pipes are escaped."""
    return "" if value is None else str(value).replace("|", "\\|")
