import pytest

from shared import qr
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


def test_render_png_numeric_mode():
    png = qr.render_png("1234567890" * 40)
    assert png.startswith(b"\x89PNG")
    assert qr.qr_version("1234567890" * 40) < qr.qr_version("A" * 400)


def test_mask_choice_and_scores_are_qrcodes_own():
    """shared.qr scores masks in numpy; it must choose what qrcode's pure-Python scoring does,
    so the symbols are the ones the library would draw (scores compared mask by mask)."""
    import random

    import numpy as np
    import qrcode
    from qrcode import util
    from qrcode.util import MODE_NUMBER, QRData

    rnd = random.Random(11)
    for _ in range(60):
        digits = rnd.randrange(20, 700)
        text = str(rnd.randrange(10 ** (digits - 1), 10 ** digits))
        symbol = qrcode.QRCode(error_correction=qr.ERROR_CORRECTION)
        symbol.add_data(QRData(text, mode=MODE_NUMBER))
        symbol.best_fit(start=None)
        assert qr.best_mask(symbol) == symbol.best_mask_pattern()
        for mask in range(8):
            symbol.makeImpl(True, mask)
            assert qr.penalty(np.array(symbol.modules, dtype=bool)) == util.lost_point(symbol.modules)
    # and the drawn image is qrcode's own
    text = "1" + "2" * 450
    reference = qrcode.QRCode(error_correction=qr.ERROR_CORRECTION)
    reference.add_data(QRData(text, mode=MODE_NUMBER))
    reference.make(fit=True)
    assert qr._symbol(text).get_matrix() == reference.get_matrix()


def test_mask_patterns_are_the_standards():
    from qrcode import util
    for n in (21, 57, 61):
        masks = qr._masks(n)
        for k in range(8):
            f = util.mask_func(k)
            assert all(bool(masks[k][i, j]) == bool(f(i, j)) for i in range(n) for j in range(n))
