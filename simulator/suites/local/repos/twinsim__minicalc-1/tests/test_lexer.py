from minicalc import tokenize


def test_tokenize_integers():
    assert tokenize("12+3") == [("num", 12.0), ("op", "+"), ("num", 3.0)]
