from dedupe.unique import duplicates, unique


def test_no_repeats():
    assert sorted(unique([3, 1, 3])) == [1, 3]


def test_duplicates():
    assert duplicates(["a", "b", "a", "a"]) == ["a"]
