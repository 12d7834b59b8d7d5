"""The whole path of a credential, real processes and real HTTP on loopback:
init, issue, serve, sync, check, revoke, sync, check again; the USB-stick path via publish."""
from __future__ import annotations

import json
import urllib.request

import pytest

from shared import qrtext
from tests.e2e.conftest import Env, free_port, post_json

LF = {"registry_id": "KHV-LF-000123",
      "holder": {"family_name": "Иванова", "given_name": "Мария", "patronymic": "Петровна",
                 "birth_date": "1988-04-12"},
      "children": 4, "region": "27", "valid_until": "2031-05-31"}
BEN = {"registry_id": "KHV-B-000777",
       "holder": {"family_name": "Петров", "given_name": "Сергей", "patronymic": "Иванович",
                  "birth_date": "1956-02-01"},
       "category": "disability_1", "region": "27", "valid_until": "2030-12-31"}


def check(verifier: Env, text: str) -> tuple[int, dict]:
    proc = verifier.run("verifier", "check", "-", input=text + "\n", check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture
def world(tmp_path):
    issuer, verifier = Env(tmp_path / "ministry"), Env(tmp_path / "venue")
    yield issuer, verifier
    issuer.stop()
    verifier.stop()


def serving_one_credential(issuer) -> tuple[str, dict]:
    """An issuer on its own address with one large-family credential, serving: (its URL, the
    credential as `issue` printed it)."""
    port = free_port()
    issuer.json("issuer", "init", "--issuer-id", "RU-27", "--name", "Министерство",
                "--url", f"http://127.0.0.1:{port}")
    lf = issuer.json("issuer", "issue", "--type", "large_family",
                     "--data", json.dumps(LF, ensure_ascii=False))
    return issuer.serve("issuer", port), lf


def test_credential_life_over_http(world, tmp_path):
    issuer, verifier = world
    port = free_port()
    init = issuer.json("issuer", "init", "--issuer-id", "RU-27", "--name", "Министерство социальной защиты",
                       "--url", f"http://127.0.0.1:{port}")
    assert init
    lf = issuer.json("issuer", "issue", "--type", "large_family", "--data", json.dumps(LF, ensure_ascii=False),
                     "--qr", str(tmp_path / "lf.png"), "--pdf", str(tmp_path / "lf.pdf"))
    assert set(lf) >= {"id", "token", "qr_text", "status", "expires_at"}
    assert qrtext.decode(lf["qr_text"]) == lf["token"]
    assert lf["status"]["uri"].startswith(f"http://127.0.0.1:{port}/")
    ben = issuer.json("issuer", "issue", "--type", "beneficiary", "--data", json.dumps(BEN, ensure_ascii=False))

    base = issuer.serve("issuer", port)
    with urllib.request.urlopen(base + "/.well-known/jwks.json", timeout=10) as resp:
        assert json.loads(resp.read())["keys"]
    with urllib.request.urlopen(lf["status"]["uri"], timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("application/statuslist+jwt")

    verifier.run("verifier", "sync", base)
    code, result = check(verifier, lf["qr_text"])
    assert (code, result["verdict"], result["code"]) == (0, "accept", "valid")
    assert result["credential"]["holder"]["family_name"] == "Иванова"
    assert result["entitlement"]
    code, result = check(verifier, ben["token"])  # the plain compact JWS is accepted too
    assert result["code"] == "valid" and result["credential"]["category"] == "disability_1"

    photo = verifier.run("verifier", "check", "--image", str(tmp_path / "lf.png"), check=False)
    assert json.loads(photo.stdout)["code"] == "valid"

    issuer.json("issuer", "revoke", lf["id"], "--reason", "утрата статуса многодетной семьи")
    assert check(verifier, lf["qr_text"])[1]["code"] == "valid"  # offline: not synced yet
    verifier.run("verifier", "sync", base)
    code, result = check(verifier, lf["qr_text"])
    assert (code, result["verdict"], result["code"]) == (1, "reject", "revoked")
    assert "отозвано" in result["message"].lower()

    vport = free_port()
    vbase = verifier.serve("verifier", vport)
    status, result = post_json(vbase + "/api/verify", {"qr": ben["qr_text"]})
    assert (status, result["code"]) == (200, "valid")
    req = urllib.request.Request(vbase + "/api/scan", data=(tmp_path / "lf.png").read_bytes(),
                                 headers={"Content-Type": "image/png"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert json.loads(resp.read())["code"] == "revoked"


def test_usb_stick_publish_suspend_reinstate_and_rotation(world, tmp_path):
    issuer, verifier = world
    issuer.json("issuer", "init", "--issuer-id", "RU-27", "--name", "Минсоцзащиты края",
                "--url", "https://szn.example.ru")
    lf = issuer.json("issuer", "issue", "--type", "large_family", "--data", json.dumps(LF, ensure_ascii=False))
    stick = tmp_path / "stick"
    issuer.run("issuer", "publish", "--out", str(stick))
    verifier.run("verifier", "sync", str(stick))
    assert check(verifier, lf["qr_text"])[1]["code"] == "valid"

    issuer.json("issuer", "suspend", lf["id"], "--reason", "проверка документов")
    issuer.run("issuer", "publish", "--out", str(stick))
    verifier.run("verifier", "sync", str(stick))
    assert check(verifier, lf["qr_text"])[1]["code"] == "suspended"

    issuer.json("issuer", "reinstate", lf["id"])
    issuer.json("issuer", "keys", "rotate")
    ben = issuer.json("issuer", "issue", "--type", "beneficiary", "--data", json.dumps(BEN, ensure_ascii=False))
    issuer.run("issuer", "publish", "--out", str(stick))
    verifier.run("verifier", "sync", str(stick))
    # Signed before and after the rotation: both verify, the old key is still published.
    assert check(verifier, lf["qr_text"])[1]["code"] == "valid"
    assert check(verifier, ben["qr_text"])[1]["code"] == "valid"


def test_printed_card_qr_decodes(world, tmp_path):
    pdfium = pytest.importorskip("pypdfium2")
    from verifier.imaging import decode_qr_array
    import numpy as np

    issuer, _ = world
    issuer.json("issuer", "init", "--issuer-id", "RU-27", "--name", "Минсоцзащиты края",
                "--url", "https://szn.example.ru")
    lf = issuer.json("issuer", "issue", "--type", "large_family", "--data", json.dumps(LF, ensure_ascii=False),
                     "--pdf", str(tmp_path / "card.pdf"))
    pdf = pdfium.PdfDocument(str(tmp_path / "card.pdf"))
    page = pdf[0]
    text = page.get_textpage().get_text_range()
    assert "Иванова" in text and "Мария" in text
    bitmap = page.render(scale=300 / 72).to_pil().convert("L")
    assert decode_qr_array(np.asarray(bitmap)) == lf["qr_text"]
    pdf.close()


def test_import_reports_broken_rows_and_is_idempotent(world, tmp_path):
    issuer, _ = world
    issuer.json("issuer", "init", "--issuer-id", "RU-27", "--name", "Минсоцзащиты края",
                "--url", "https://szn.example.ru")
    csv_text = (
        "type;registry_id;family_name;given_name;patronymic;birth_date;children;category;region;valid_until\n"
        "large_family;R-1;Смирнова;Ольга;Ивановна;1985-03-02;3;;27;2030-01-31\n"
        "large_family;R-2;Кузнецов;Иван;;1979-12-30;5;;27;31.12.2030\n"
        "beneficiary;R-3;Попова;Анна;Сергеевна;1950-07-07;;martian;27;2030-01-31\n"
        "beneficiary;R-4;Волков;Пётр;Олегович;1948-01-15;;pensioner;27;2030-01-31\n"
        "large_family;R-5;Лебедева;;;1990-13-45;4;;27;2030-01-31\n")
    path = tmp_path / "registry.csv"
    path.write_bytes(csv_text.encode("cp1251"))
    first = issuer.json("issuer", "import", str(path))
    assert (first["issued"], first["updated"], first["unchanged"]) == (3, 0, 0)
    assert sorted(e["line"] for e in first["errors"]) == [4, 6]
    second = issuer.json("issuer", "import", str(path))
    assert (second["issued"], second["updated"], second["unchanged"]) == (0, 0, 3)
