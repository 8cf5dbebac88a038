from quietlog import LevelFilter, level_value


def test_level_names():
    assert level_value("warning") == 30
    assert level_value(25) == 25


def test_higher_level_allowed():
    assert LevelFilter("WARNING").allows("ERROR")


def test_lower_level_dropped():
    assert not LevelFilter("WARNING").allows("INFO")


def test_numeric_levels():
    assert LevelFilter(30).allows(40)
