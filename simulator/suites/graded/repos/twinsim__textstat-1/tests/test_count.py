from textstat.count import line_count, word_count


def test_simple_sentence():
    assert word_count("the quick brown fox") == 4


def test_lines():
    assert line_count("a\nb\nc") == 3
