from mdtable.table import render


def test_short_cells():
    assert render(["name", "qty"], [["ab", 1]]) == "| name | qty |\n|------|-----|\n| ab   | 1   |"


def test_none_is_empty():
    assert render(["x"], [[None]]).splitlines()[2] == "|   |"
