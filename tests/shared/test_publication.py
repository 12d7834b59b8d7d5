import pytest

from shared.publication import IssuerMetadata, PublicationError, relative_path, status_list_uri


def test_relative_path():
    assert relative_path("https://szn.test/ru27", status_list_uri("https://szn.test/ru27/", "1")) == "status/1"


@pytest.mark.parametrize("uri", ["https://evil.test/status/1", "https://szn.test/ru27/../x",
                                 "https://szn.test/ru27/status//1", "https://szn.test/ru27/",
                                 "https://szn.test/ru27/status/%2e%2e"])
def test_relative_path_refuses_escape(uri):
    with pytest.raises(PublicationError):
        relative_path("https://szn.test/ru27", uri)


def test_metadata_round_trip():
    m = IssuerMetadata("RU-27", "Минсоцзащиты", "https://szn.test/ru27", "27", "Asia/Vladivostok",
                       ("https://szn.test/ru27/status/1",))
    assert IssuerMetadata.from_json(m.to_json()) == m


@pytest.mark.parametrize("obj", [[], {"iss": "x"}, {"iss": "x", "name": "n", "url": "https://a",
                                                     "status_lists": ["https://b/status/1"]}])
def test_metadata_refused(obj):
    with pytest.raises(PublicationError):
        IssuerMetadata.from_json(obj)
