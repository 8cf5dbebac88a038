from envcfg import load_env


def test_port_and_host():
    assert load_env("PORT=8000\nHOST = example.org") == {"PORT": 8000, "HOST": "example.org"}


def test_comments_and_unknown_keys_are_skipped():
    assert load_env("# PORT=1\nNAME=x\n\nPORT=2") == {"PORT": 2}


def test_debug_lowercase():
    assert load_env("DEBUG=true") == {"DEBUG": True}
