from wrapkit import fill, wrap


def test_short_text_is_one_line():
    assert wrap("hello world", 20) == ["hello world"]


def test_long_word_is_not_split():
    assert wrap("abcdefghij", 5) == ["abcdefghij"]


def test_empty_text():
    assert wrap("") == []


def test_wraps_at_spaces():
    assert wrap("aaa bbb ccc", 5) == ["aaa", "bbb", "ccc"]


def test_fill():
    assert fill("one two three", 9) == "one two\nthree"
