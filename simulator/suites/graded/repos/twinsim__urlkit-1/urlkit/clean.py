def strip_query(url):
    """`url` without its ?query and #fragment."""
    for mark in "?#":
        url = url.split(mark, 1)[0]
    return url
