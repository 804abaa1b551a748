"""Downloads (network patched out), checksums, and safe extraction of tar and zip archives."""

import hashlib
import io
import tarfile
import urllib.error
import zipfile
from pathlib import Path

import pytest

from t2ilib.data import download
from t2ilib.data.download import (
    ArchiveError,
    DownloadError,
    IntegrityError,
    Resource,
    safe_extract,
)

PAYLOAD = bytes(range(256)) * 4000  # about 1 MB


class FakeResponse(io.BytesIO):
    pass


def serve(monkeypatch, payload: bytes, *, honour_range=True, fail_after=None, calls=None):
    """Replace the HTTP layer with one that serves ``payload``."""

    def fake_open(url, start=0):
        if calls is not None:
            calls.append(start)
        if start and honour_range:
            body = payload[start:]
            if fail_after is not None:
                body = body[:fail_after]
            return FakeResponse(body), 206, len(payload)
        body = payload if fail_after is None else payload[:fail_after]
        return FakeResponse(body), 200, len(payload)

    monkeypatch.setattr(download, "_http_open", fake_open)


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


# ---------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------


def test_download_verifies_and_renames(tmp_path, monkeypatch):
    serve(monkeypatch, PAYLOAD)
    dest = download.download_url(
        "http://x/f.bin", tmp_path / "f.bin", size=len(PAYLOAD), md5=md5(PAYLOAD), progress=False
    )
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "f.bin.part").exists()


def test_download_resumes_from_part_with_range(tmp_path, monkeypatch):
    calls = []
    serve(monkeypatch, PAYLOAD, calls=calls)
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD[:300_000])
    download.download_url(
        "http://x/f.bin", tmp_path / "f.bin", size=len(PAYLOAD), md5=md5(PAYLOAD), progress=False
    )
    assert calls == [300_000]
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_server_ignoring_range_restarts(tmp_path, monkeypatch):
    serve(monkeypatch, PAYLOAD, honour_range=False)
    (tmp_path / "f.bin.part").write_bytes(b"garbage" * 10)
    download.download_url("http://x/f.bin", tmp_path / "f.bin", md5=md5(PAYLOAD), progress=False)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_interrupted_download_keeps_part_then_resumes(tmp_path, monkeypatch):
    serve(monkeypatch, PAYLOAD, fail_after=100_000)
    with pytest.raises(DownloadError, match="ended early"):
        download.download_url(
            "http://x/f.bin",
            tmp_path / "f.bin",
            size=len(PAYLOAD),
            md5=md5(PAYLOAD),
            progress=False,
        )
    assert (tmp_path / "f.bin.part").stat().st_size == 100_000
    assert not (tmp_path / "f.bin").exists()
    serve(monkeypatch, PAYLOAD)
    download.download_url(
        "http://x/f.bin", tmp_path / "f.bin", size=len(PAYLOAD), md5=md5(PAYLOAD), progress=False
    )
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_checksum_mismatch_deletes_part(tmp_path, monkeypatch):
    serve(monkeypatch, PAYLOAD)
    with pytest.raises(IntegrityError, match="does not match its published checksum"):
        download.download_url("http://x/f.bin", tmp_path / "f.bin", md5="0" * 32, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_network_error_is_a_download_error(tmp_path, monkeypatch):
    def refuse(url, start=0):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(download, "_http_open", refuse)
    with pytest.raises(DownloadError, match="no route to host"):
        download.download_url("http://x/f.bin", tmp_path / "f.bin", progress=False)


def test_gdrive_goes_through_part(tmp_path, monkeypatch):
    seen = []

    def fake_gdown(file_id, output):
        seen.append((file_id, output))
        Path(output).write_bytes(PAYLOAD)
        return output

    monkeypatch.setattr(download, "_gdown_download", fake_gdown)
    dest = download.download_gdrive("abc", tmp_path / "c.tar.gz", md5=md5(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD
    assert seen == [("abc", str(tmp_path / "c.tar.gz.part"))]


def test_gdrive_failure_is_a_download_error(tmp_path, monkeypatch):
    def quota(file_id, output):
        raise RuntimeError("Too many users have viewed or downloaded this file recently")

    monkeypatch.setattr(download, "_gdown_download", quota)
    with pytest.raises(DownloadError, match="open the link in a browser"):
        download.download_gdrive("abc", tmp_path / "c.tar.gz")


def test_tables_are_complete():
    for name, resources in download.RESOURCES.items():
        for r in resources:
            assert r.checksum_source, (name, r.filename)
            if r.url:
                assert r.md5 and len(r.md5) == 32, r.filename
    tgz = {r.filename: r for r in download.FLOWERS_RESOURCES}["102flowers.tgz"]
    assert tgz.md5 == "52808999861908f626f3c1f4e79d11fa"
    with pytest.raises(ValueError, match="exactly one"):
        Resource("x")


# ---------------------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------------------


def make_tar(path: Path, members: dict[str, bytes], mode="w:gz", links=()):
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target, kind in links:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            tar.addfile(info)
    return path


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def test_extract_tar_and_zip(tmp_path):
    root = tmp_path / "root"
    make_tar(tmp_path / "a.tgz", {"top/a.txt": b"a", "top/sub/b.txt": b"b"})
    assert safe_extract(tmp_path / "a.tgz", root) == ["top"]
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as zf:
        zf.writestr("other/c.txt", "c")
        zf.writestr("top/d.txt", "d")  # merges into the existing folder
    safe_extract(tmp_path / "b.zip", root)
    assert tree(root) == {
        "top",
        "top/a.txt",
        "top/sub",
        "top/sub/b.txt",
        "top/d.txt",
        "other",
        "other/c.txt",
    }


@pytest.mark.parametrize(
    "members,links,match",
    [
        ({"ok.txt": b"1", "../escape.txt": b"x"}, (), r"'\.\.'"),
        ({"ok.txt": b"1", "a/../../escape.txt": b"x"}, (), r"'\.\.'"),
        ({"ok.txt": b"1", "/tmp/escape.txt": b"x"}, (), "absolute"),
        ({"ok.txt": b"1"}, [("link", "../../etc/passwd", tarfile.SYMTYPE)], "leaves the root"),
        ({"ok.txt": b"1"}, [("link", "/etc/passwd", tarfile.SYMTYPE)], "absolute"),
        ({"ok.txt": b"1"}, [("hard", "../outside", tarfile.LNKTYPE)], "leaves the root"),
    ],
)
def test_malicious_tar_writes_nothing(tmp_path, members, links, match):
    root = tmp_path / "root"
    root.mkdir()
    archive = make_tar(tmp_path / "evil.tgz", members, links=links)
    before = tree(tmp_path)
    with pytest.raises(ArchiveError, match=match):
        safe_extract(archive, root)
    assert tree(tmp_path) == before  # nothing inside or outside the root


def test_zip_with_dotdot_writes_nothing(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("fine.txt", "1")
        zf.writestr("../escape.txt", "x")
    with pytest.raises(ArchiveError, match=r"'\.\.'"):
        safe_extract(tmp_path / "evil.zip", root)
    assert tree(root) == set()
    assert not (tmp_path / "escape.txt").exists()


def test_link_inside_root_is_allowed(tmp_path):
    root = tmp_path / "root"
    make_tar(tmp_path / "a.tgz", {"top/a.txt": b"a"}, links=[("top/l", "a.txt", tarfile.SYMTYPE)])
    safe_extract(tmp_path / "a.tgz", root)
    assert (root / "top" / "l").read_bytes() == b"a"


@pytest.mark.parametrize("kind", ["tgz", "zip"])
def test_truncated_archive_leaves_root_unchanged(tmp_path, kind):
    root = tmp_path / "root"
    root.mkdir()
    (root / "keep.txt").write_text("mine")
    big = {f"top/f{i}.bin": bytes([i]) * 20_000 for i in range(20)}
    if kind == "tgz":
        archive = make_tar(tmp_path / "a.tgz", big)
    else:
        archive = tmp_path / "a.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in big.items():
                zf.writestr(name, data)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="truncated or corrupt"):
        safe_extract(archive, root)
    assert tree(root) == {"keep.txt"}


@pytest.mark.parametrize(
    "members",
    [
        {"text_c10/a/b.txt": b"x", "trainvalclasses.txt": b"a\n"},  # loose files
        {"cub/text_c10/a/b.txt": b"x", "cub/trainvalclasses.txt": b"a\n"},  # another name
        {"cvpr2016_cub/text_c10/a/b.txt": b"x", "cvpr2016_cub/trainvalclasses.txt": b"a\n"},
    ],
)
def test_place_in_puts_reed_archives_where_expected(tmp_path, members):
    root = tmp_path / "root"
    archive = make_tar(tmp_path / "cvpr2016_cub.tar.gz", members)
    assert safe_extract(archive, root, place_in="cvpr2016_cub") == ["cvpr2016_cub"]
    assert tree(root) == {
        "cvpr2016_cub",
        "cvpr2016_cub/text_c10",
        "cvpr2016_cub/text_c10/a",
        "cvpr2016_cub/text_c10/a/b.txt",
        "cvpr2016_cub/trainvalclasses.txt",
    }


def test_a_full_disk_while_unpacking_is_not_called_a_corrupt_archive(tmp_path, monkeypatch):
    """ENOSPC during extraction names the disk, not the archive, and leaves the root as it
    was; the command line prints it as one line."""
    import errno

    root = tmp_path / "root"
    root.mkdir()
    (root / "keep.txt").write_text("mine")
    archive = make_tar(tmp_path / "a.tgz", {"top/f.bin": b"x" * 100})

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tarfile.TarFile, "extractall", full)
    with pytest.raises(OSError, match="no space left on the device while unpacking") as info:
        safe_extract(archive, root)
    assert info.value.errno == errno.ENOSPC and not isinstance(info.value, ArchiveError)
    assert tree(root) == {"keep.txt"}
