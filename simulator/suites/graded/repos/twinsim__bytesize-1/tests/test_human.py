from bytesize.human import human_size


def test_bytes():
    assert human_size(512) == "512.0 B"


def test_zero():
    assert human_size(0) == "0.0 B"
