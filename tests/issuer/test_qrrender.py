from issuer import qrrender


def test_render_png_numeric_mode():
    png = qrrender.render_png("1234567890" * 40)
    assert png.startswith(b"\x89PNG")
    assert qrrender.qr_version("1234567890" * 40) < qrrender.qr_version("A" * 400)


def test_mask_choice_and_scores_are_qrcodes_own():
    """issuer.qrrender scores masks in numpy; it must choose what qrcode's pure-Python scoring does,
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
        symbol = qrcode.QRCode(error_correction=qrrender.ERROR_CORRECTION)
        symbol.add_data(QRData(text, mode=MODE_NUMBER))
        symbol.best_fit(start=None)
        assert qrrender.best_mask(symbol) == symbol.best_mask_pattern()
        for mask in range(8):
            symbol.makeImpl(True, mask)
            assert qrrender.penalty(np.array(symbol.modules, dtype=bool)) == util.lost_point(symbol.modules)
    # and the drawn image is qrcode's own
    text = "1" + "2" * 450
    reference = qrcode.QRCode(error_correction=qrrender.ERROR_CORRECTION)
    reference.add_data(QRData(text, mode=MODE_NUMBER))
    reference.make(fit=True)
    assert qrrender._symbol(text).get_matrix() == reference.get_matrix()


def test_mask_patterns_are_the_standards():
    from qrcode import util
    for n in (21, 57, 61):
        masks = qrrender._masks(n)
        for k in range(8):
            f = util.mask_func(k)
            assert all(bool(masks[k][i, j]) == bool(f(i, j)) for i in range(n) for j in range(n))
