from csvlite.reader import read_rows


def test_two_rows():
    assert read_rows("a,b\n1,2\n3,4") == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_spaces_are_stripped():
    assert read_rows("name , age\n Ada , 36") == [{"name": "Ada", "age": "36"}]
