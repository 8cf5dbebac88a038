from slugger import slugify


def test_single_word():
    assert slugify("Hello") == "hello"


def test_accents_are_stripped():
    assert slugify("Café") == "cafe"


def test_only_punctuation():
    assert slugify("!!!") == ""


def test_max_length():
    assert slugify("a" * 60) == "a" * 50
