"""Pieces for driving the scanner page: a venue with real credentials, live servers, camera videos.

Kept apart from conftest.py so that the latency benchmark (bench/scan_latency.py) uses the
same ones.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shared.publication import ENTITLEMENTS_PATH
from tests import imaging
from tests.vectors.build import publish as publish_vectors
from verifier import sync
from verifier.app import create_app
from verifier.config import Settings

ISSUER_ID = "RU-27-MSZN"
ISSUER_NAME = "Министерство социальной защиты Хабаровского края"
ISSUER_URL = "https://szn.khv.test"
FRAME_W, FRAME_H = 640, 480

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "/usr/bin/chromium")
# The flags this closed network needs: no background connections that would be refused.
BASE_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage"]


def chromium_executable() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def fake_camera_args(y4m: Path) -> list[str]:
    return ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m.resolve()}"]


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """Write gray or BGR frames (same size, even dimensions) as a YUV 4:2:0 Y4M video."""
    import cv2

    h, w = frames[0].shape[:2]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            bgr = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


PEOPLE = {
    "family": ("large_family", {
        "registry_id": "BR-LF-0001", "children": 4, "region": "27",
        "holder": {"family_name": "Иванова", "given_name": "Мария", "patronymic": "Петровна",
                   "birth_date": "1988-04-12"}}),
    "disability": ("beneficiary", {
        "registry_id": "BR-B-0001", "category": "disability_1", "region": "27",
        "holder": {"family_name": "Соколов", "given_name": "Виктор", "patronymic": "Иванович",
                   "birth_date": "1971-02-23"}}),
    "revoked": ("beneficiary", {
        "registry_id": "BR-B-0002", "category": "pensioner", "region": "27",
        "holder": {"family_name": "Петрова", "given_name": "Галина", "patronymic": "Николаевна",
                   "birth_date": "1956-07-30"}}),
}


@dataclass
class Ministry:
    """A real issuer (issuer.service, SQLite) with three credentials, one revoked, published."""

    root: Path
    published: Path = field(init=False)
    qr: dict[str, str] = field(init=False)     # person -> QR text
    token: dict[str, str] = field(init=False)  # person -> compact JWS

    def __post_init__(self) -> None:
        from datetime import date, timedelta

        from issuer.config import Settings as IssuerSettings
        from issuer.publishing import entitlements_json, json_bytes
        from issuer.service import IssuerService

        settings = IssuerSettings.from_env({"SOCPASS_HOME": str(self.root / "ministry"),
                                            "SOCPASS_KEY_PASSPHRASE": "browser-test-passphrase",
                                            "SOCPASS_STATUS_LIST_SIZE": "4096"})
        svc = IssuerService.open(settings, actor="test")
        try:
            svc.init_issuer(ISSUER_ID, ISSUER_NAME, ISSUER_URL, region="27")
            valid_until = (date.today() + timedelta(days=3 * 365)).isoformat()
            self.qr, self.token = {}, {}
            for person, (ctype, data) in PEOPLE.items():
                issued = svc.issue(ctype, dict(data, valid_until=valid_until))
                self.qr[person], self.token[person] = issued["qr_text"], issued["token"]
                if person == "revoked":
                    svc.revoke(issued["id"], "утрата права на льготу")
            self.published = self.root / "published" / "ministry"
            svc.publish(self.published)
            # The ministry's entitlement rules, as the issuer serves them at ENTITLEMENTS_PATH.
            rules = self.published / ENTITLEMENTS_PATH
            if not rules.exists():
                rules.write_bytes(json_bytes(entitlements_json(ISSUER_ID)))
        finally:
            svc.close()

    def sources(self, now: int) -> list[str]:
        """This ministry plus the two issuers of the shared vectors (valid and hostile QR texts)."""
        return [str(self.published),
                *(str(p) for p in publish_vectors(self.root / "published" / "vectors", now))]


class LiveServer:
    """A verifier app on a loopback port in a thread of the test process."""

    def __init__(self, app) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(10)
        self.server.server_close()


def venue(root: Path, name: str, sources: list[str], now: int, *,
          clock: Callable[[], float] = time.time, **settings_changes) -> tuple[LiveServer, Settings]:
    """Sync a fresh cache directory from `sources` and serve a verifier app over it."""
    home = root / name
    if home.exists():
        shutil.rmtree(home)
    settings = Settings.from_env({"SOCPASS_HOME": str(home)})
    settings = dataclasses.replace(settings, **settings_changes)
    sync.sync(sources, settings.cache_dir, now)
    app = create_app(settings, clock=clock)
    return LiveServer(app), settings


def qr_frame(text: str, *, width: int = 380, dark: bool = False) -> np.ndarray:
    """A 640x480 camera frame: a cluttered scene with the QR code in the middle (or without it,
    `dark`), and a marker patch top-left (black without the code, white with it) for timing."""
    rng = np.random.default_rng(7)
    frame = imaging.background(FRAME_W, FRAME_H, rng)
    if not dark:
        code = imaging.make_qr(text, box_size=6)
        frame = imaging.place(code, frame, width=width, x=(FRAME_W - width) // 2,
                              y=(FRAME_H - width) // 2)
    frame[:32, :32] = 0 if dark else 255
    return frame


def camera_video(path: Path, text: str | None, *, lead_in: int = 0, frames: int = 4) -> Path:
    """A Y4M for Chromium's fake camera: `lead_in` frames without a code, then the code."""
    empty = qr_frame("", dark=True)
    shown = qr_frame(text) if text else empty
    return write_y4m(path, [empty] * lead_in + [shown] * frames)


_RU = "йцукенгшщзхъфывапролджэячсмитьбюё"
_EN = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
_RU_UP = "ЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ"
_EN_UP = "QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>~"


def as_russian_layout(text: str) -> str:
    """What a handheld scanner 'types' under a Russian keyboard layout: same keys, Cyrillic."""
    table = str.maketrans(_EN + _EN_UP, _RU + _RU_UP)
    return text.translate(table)


def scanlog_rows(settings: Settings) -> list[dict]:
    import sqlite3

    path = settings.cache_dir / "scanlog.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM scans ORDER BY id")]


def dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


# Every oscillator started, as "type:frequency" in window.__beeps: which verdict sounds played.
RECORD_BEEPS = """
window.__beeps = [];
const Original = window.AudioContext;
window.AudioContext = class extends Original {
  createOscillator() {
    const osc = super.createOscillator();
    const start = osc.start.bind(osc);
    osc.start = (...args) => { window.__beeps.push(osc.type + ":" + osc.frequency.value); return start(...args); };
    return osc;
  }
};
"""
