from initials.names import display_name, initials


def test_empty_name():
    assert initials("") == ""


def test_display_name():
    assert display_name(" Ada ", "Lovelace ") == "Ada Lovelace"
