"""Write a seed corpus per target from the shared vectors: `python -m tests.fuzz.seeds DIR`."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.vectors.build import issuers, vectors


def seeds() -> dict[str, list[bytes]]:
    now = int(time.time())
    texts = [v.text.encode() for v in vectors(now)]
    khv = issuers()[0]
    csv = ("type;registry_id;family_name;given_name;patronymic;birth_date;children;category;region;valid_until\n"
           "large_family;R-1;Смирнова;Ольга;Ивановна;1985-03-02;3;;27;2030-01-31\n"
           "beneficiary;R-3;Попова;Анна;Сергеевна;07.07.1950;;pensioner;27;2030-01-31\n")
    return {"qr_text": texts, "compact_token": texts, "status_list": [khv.status_token(now).encode(),
                                                                      b'{"bits":2,"lst":"eNo76fITAAPfAgc"}'],
            "registry_csv": [csv.encode("utf-8"), csv.encode("cp1251"), csv.replace(";", ",").encode()],
            "image": [Path(__file__).with_name("seed.png").read_bytes()] if Path(__file__).with_name("seed.png").exists() else []}


def main() -> None:
    out = Path(sys.argv[1])
    for name, items in seeds().items():
        (out / name).mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(items):
            (out / name / f"seed-{i:03d}").write_bytes(data)


if __name__ == "__main__":
    main()
