from verkit import is_newer, latest, sort_versions


def test_sort():
    assert sort_versions(["1.2.0", "1.0.0", "1.1.5"]) == ["1.0.0", "1.1.5", "1.2.0"]


def test_sort_with_v_prefix():
    assert sort_versions(["v1.2", "1.1"], reverse=True) == ["v1.2", "1.1"]


def test_latest():
    assert latest(["0.9", "1.0", "0.1"]) == "1.0"


def test_latest_of_nothing():
    assert latest([]) is None


def test_is_newer():
    assert is_newer("2.1", "2.0")
    assert not is_newer("2.0", "2.0")
