def clean(field):
    """A field without surrounding spaces."""
    return field.strip()
