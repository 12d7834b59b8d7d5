"""`make run`: a ready-to-try issuer and verifier on this machine (`python -m issuer.demo`).

First start (no issuer in the database): initialise the demo issuer RU-27, issue a few demo
credentials, write their QR images, texts and printable cards under $SOCPASS_HOME/demo/, revoke
one. Every start: publish to $SOCPASS_HOME/publish, sync the verifier from there, run the issuer
(127.0.0.1:8000) and the verifier (127.0.0.1:8001) until Ctrl-C.

Demo mode is forced on for this process and its children only: without SOCPASS_KEY_PASSPHRASE
the keys are encrypted with the public demo passphrase (and a loud warning says so).
"""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from issuer.config import Settings, warn_demo_passphrase
from issuer.errors import NotInitialized
from issuer.qrrender import render_png
from issuer.service import IssuerService
from shared.errors import SocpassError

ISSUER_ID = "RU-27"
ISSUER_NAME = "Министерство социальной защиты Хабаровского края"
HOST = "127.0.0.1"
ISSUER_PORT, VERIFIER_PORT = 8000, 8001
ISSUER_URL = f"http://{HOST}:{ISSUER_PORT}"
# Like the demo passphrase: public, for a laptop only. A real issuer's first admin gets a random
# password from `socpass-issuer init`.
DEMO_USERS = (("admin", "admin"), ("operator", "operator"), ("auditor", "auditor"))
DEMO_PASSWORD = "demo-only-not-secret"
# The demo's verifier refreshes from the running issuer this often (a venue's default is 300 s):
# a revocation in the console reaches the scanner within it, without a manual sync.
DEMO_SYNC_INTERVAL = 30


def demo_people(valid_until: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(file name, type, data): invented people, no resemblance intended."""
    return [
        ("large-family-ivanova", "large_family", {
            "registry_id": "DEMO-LF-0001", "children": 4, "region": "27", "valid_until": valid_until,
            "holder": {"family_name": "Иванова", "given_name": "Мария", "patronymic": "Петровна",
                       "birth_date": "1988-04-12"}}),
        ("large-family-kim", "large_family", {
            "registry_id": "DEMO-LF-0002", "children": 3, "region": "27", "valid_until": valid_until,
            "holder": {"family_name": "Ким", "given_name": "Алексей", "patronymic": "Сергеевич",
                       "birth_date": "1983-11-02"}}),
        ("disability-1-sokolov", "beneficiary", {
            "registry_id": "DEMO-B-0001", "category": "disability_1", "region": "27",
            "valid_until": valid_until,
            "holder": {"family_name": "Соколов", "given_name": "Виктор", "patronymic": "Иванович",
                       "birth_date": "1971-02-23"}}),
        ("pensioner-petrova-revoked", "beneficiary", {
            "registry_id": "DEMO-B-0002", "category": "pensioner", "region": "27",
            "valid_until": valid_until,
            "holder": {"family_name": "Петрова", "given_name": "Галина", "patronymic": "Николаевна",
                       "birth_date": "1956-07-30"}}),
    ]


def first_start(svc: IssuerService, demo_dir: Path) -> list[dict[str, Any]]:
    svc.init_issuer(ISSUER_ID, ISSUER_NAME, ISSUER_URL, region="27")
    for name, role in DEMO_USERS:
        svc.accounts.add_user(name, role, DEMO_PASSWORD)
    valid_until = (svc.today() + timedelta(days=3 * 365)).isoformat()
    demo_dir.mkdir(parents=True, exist_ok=True)
    issued = []
    for name, ctype, data in demo_people(valid_until):
        result = svc.issue(ctype, data)
        (demo_dir / f"{name}.png").write_bytes(render_png(result["qr_text"]))
        (demo_dir / f"{name}.pdf").write_bytes(svc.card_pdf(result["id"]))
        (demo_dir / f"{name}.txt").write_text(result["qr_text"] + "\n", encoding="ascii")
        state = "valid"
        link = svc.links.show(result["id"])["url"]  # kept in the demo file only: demo data
        if name.endswith("-revoked"):
            state = svc.revoke(result["id"], "демонстрация отзыва / revocation demo")["state"]
        issued.append({"name": name, "id": result["id"], "type": ctype, "state": state,
                       "wallet": link})
    (demo_dir / "credentials.json").write_text(json.dumps(issued, ensure_ascii=False, indent=2) + "\n",
                                               encoding="utf-8")
    return issued


def prepare(settings: Settings, demo_dir: Path, publish_dir: Path) -> list[dict[str, Any]]:
    """Initialise on first start, then publish; returns the demo credentials' summary."""
    svc = IssuerService.open(settings, actor="demo")
    try:
        try:
            svc.issuer_info()
        except NotInitialized:
            print("Первый запуск: создаю демо-издателя и удостоверения / first start: creating the demo issuer")
            issued = first_start(svc, demo_dir)
        else:
            try:
                issued = json.loads((demo_dir / "credentials.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                issued = []
        svc.publish(publish_dir)
        return issued
    finally:
        svc.close()


def verifier_available() -> bool:
    try:
        return importlib.util.find_spec("verifier.cli") is not None
    except (ImportError, ValueError):
        return False


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so that `supervise` stops the servers it started


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    env = dict(os.environ, SOCPASS_DEMO="true")
    try:
        settings = Settings.from_env(env)
    except SocpassError as err:
        print(f"demo: {err.description}", file=sys.stderr)
        return 1
    env["SOCPASS_HOME"] = str(settings.home)
    warn_demo_passphrase(settings)
    demo_dir, publish_dir = settings.home / "demo", settings.home / "publish"
    try:
        issued = prepare(settings, demo_dir, publish_dir)
    except SocpassError as err:
        print(f"demo: {err.description} [{err.code}]", file=sys.stderr)
        return 1

    has_verifier = verifier_available()
    if has_verifier:
        sync = subprocess.run([sys.executable, "-m", "verifier.cli", "sync", str(publish_dir)], env=env)
        if sync.returncode != 0:
            print("ВНИМАНИЕ / WARNING: verifier sync failed", file=sys.stderr)
    else:
        print("ВНИМАНИЕ: верификатор ещё не установлен, запускаю только издателя / WARNING: the "
              "verifier is not importable yet; running the issuer only", file=sys.stderr)

    procs = [subprocess.Popen([sys.executable, "-m", "issuer.cli", "serve", "--host", HOST,
                               "--port", str(ISSUER_PORT)], env=env)]
    if has_verifier:
        procs.append(subprocess.Popen([sys.executable, "-m", "verifier.cli", "serve", "--host", HOST,
                                       "--port", str(VERIFIER_PORT)], env=verifier_env(env)))
    print_guide(issued, demo_dir, publish_dir, has_verifier)
    return supervise(procs)


def verifier_env(env: dict[str, str]) -> dict[str, str]:
    """The demo verifier syncs from the running issuer in the background (first from the
    published directory, before the issuer is up); the user's own settings win."""
    out = dict(env)
    out.setdefault("SOCPASS_SYNC_SOURCES", ISSUER_URL)
    out.setdefault("SOCPASS_SYNC_INTERVAL", str(DEMO_SYNC_INTERVAL))
    return out


def print_guide(issued: list[dict[str, Any]], demo_dir: Path, publish_dir: Path, has_verifier: bool) -> None:
    print()
    print(f"Издатель / issuer:        {ISSUER_URL}/  (JWKS: {ISSUER_URL}/.well-known/jwks.json)")
    # The offline app: what a venue with one tablet and no PC opens (docs/scanner.md).
    print(f"Сканер без сети / offline scanner app: http://{HOST}:{ISSUER_PORT}/scan/?venue=museum")
    if has_verifier:
        interval = verifier_env(dict(os.environ))["SOCPASS_SYNC_INTERVAL"]
        print(f"Верификатор / verifier:   http://{HOST}:{VERIFIER_PORT}/")
        print(f"  обновляет данные у издателя каждые {interval} с: отзыв в консоли дойдёт до "
              f"сканера за {interval} с / refreshes from the issuer every {interval} s: a "
              "revocation in the console reaches the scanner within that")
    print(f"Опубликовано / published: {publish_dir}")
    print(f"Демо-файлы / demo files:  {demo_dir}  (QR .png, карточки / cards .pdf, тексты QR / QR texts .txt)")
    print(f"Консоль / console:        {ISSUER_URL}/admin/  (демо / demo: "
          + ", ".join(f"{name}" for name, _ in DEMO_USERS) + f"; пароль / password {DEMO_PASSWORD})")
    for item in issued:
        print(f"  {item['name']:<28} {item['id']}  {item['state']}")
        if item.get("wallet"):
            print(f"  {'':<28} страница гражданина / citizen's page: {item['wallet']}")
    first = next((i for i in issued if i["state"] == "valid"), None)
    if first is not None:
        text_file = demo_dir / f"{first['name']}.txt"
        if text_file.exists():
            print(f"\nQR-текст для вставки / QR text to paste ({first['name']}):")
            print(text_file.read_text(encoding="ascii").strip())
    print("\nCtrl-C — остановить / to stop")


def supervise(procs: list[subprocess.Popen]) -> int:
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print("Один из серверов остановился / a server stopped", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        # Ctrl-C in a terminal already reached the servers (same process group); a second
        # SIGINT would interrupt their shutdown, so they get SIGTERM.
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


if __name__ == "__main__":
    sys.exit(main())
