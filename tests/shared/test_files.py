import os
import stat

import pytest

from shared.files import PRIVATE, create_private, write_atomically


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_write_replaces_whole_file_with_its_mode(tmp_path):
    target = tmp_path / "cache.json"
    target.write_bytes(b"old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert mode(target) == 0o644
    write_atomically(target, b"secret", mode=PRIVATE)
    assert mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["cache.json"]  # no temporary left


def test_failed_write_keeps_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_atomically(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_private_file_is_0600_whatever_the_umask_and_never_overwritten(tmp_path):
    old = os.umask(0)
    try:
        create_private(tmp_path / "device.key", b"k" * 32)
    finally:
        os.umask(old)
    assert mode(tmp_path / "device.key") == 0o600
    with pytest.raises(FileExistsError):
        create_private(tmp_path / "device.key", b"other")
    assert (tmp_path / "device.key").read_bytes() == b"k" * 32


def test_private_file_appears_whole_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "upload.csv"
    create_private(target, iter([b"a,b\n", b"1,2\n"]))
    assert target.read_bytes() == b"a,b\n1,2\n" and mode(target) == 0o600
    with pytest.raises(FileExistsError):
        create_private(target, b"other")
    assert [p.name for p in tmp_path.iterdir()] == ["upload.csv"]


def test_a_failing_source_leaves_nothing(tmp_path):
    def chunks():
        yield b"part"
        raise ValueError("too large")

    with pytest.raises(ValueError):
        create_private(tmp_path / "upload.csv", chunks())
    with pytest.raises(ValueError):
        write_atomically(tmp_path / "export.csv", chunks(), mode=PRIVATE)
    assert list(tmp_path.iterdir()) == []


def test_private_file_without_hard_links_is_still_0600_and_never_overwritten(tmp_path, monkeypatch):
    # FAT and some network shares refuse link(): the file is then created exclusively instead.
    def no_links(src, dst):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    old = os.umask(0)
    try:
        create_private(tmp_path / "secret", [b"one ", b"two"])
    finally:
        os.umask(old)
    assert (tmp_path / "secret").read_bytes() == b"one two"
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        create_private(tmp_path / "secret", b"other")
    assert (tmp_path / "secret").read_bytes() == b"one two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret"]
