from urlkit.join import urljoin


def test_plain():
    assert urljoin("https://x.org", "api", "v1") == "https://x.org/api/v1"


def test_query_dropped():
    assert urljoin("https://x.org?a=1", "api") == "https://x.org/api"
