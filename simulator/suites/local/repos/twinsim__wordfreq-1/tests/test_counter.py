from wordfreq import count_words, top_words


def test_count_words():
    assert count_words("the cat and the hat") == {"the": 2, "cat": 1, "and": 1, "hat": 1}


def test_case_insensitive():
    assert count_words("Dog dog DOG")["dog"] == 3


def test_top_words_empty_text():
    assert top_words("", 3) == []
