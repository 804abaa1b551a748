"""Fetching the real datasets: where each file comes from, its checksum, and safe unpacking.

The three datasets of Reed et al. (2016) come from four places:

* **CUB-200-2011** images (Wah et al. 2011) from CaltechDATA;
* **Oxford-102** images and label files (Nilsback and Zisserman 2008) from the Visual
  Geometry Group in Oxford;
* **MS-COCO 2014** images and captions (Lin et al. 2014) from cocodataset.org;
* **Reed's captions** for CUB and Oxford-102 (Reed et al., CVPR 2016: ten per image,
  collected on Amazon Mechanical Turk) from Google Drive, fetched with ``gdown``.

Each file is a :class:`Resource`: its URL (or Google Drive id), its size and its checksum
*as its publisher or a well-known loader publishes them*. Where the checksum comes from is
written beside it. Reed's Google Drive archives have no published checksum or size; for
them the check after extraction (every expected file present, every image decodable as
far as its JPEG markers go) is the only check, and the tables say so.

Downloads are resumable and atomic: bytes go to ``<file>.part``; an interrupted download
resumes from where it stopped with an HTTP ``Range`` request; only a complete file whose
size and checksum match is renamed to its final name (the convention of
:func:`t2ilib.io.atomic_write`, which cannot be used directly because a resumed download
appends to its ``.part`` file).

An archive already in the root (copied there by hand) whose size and checksum match is
used as it is: ``prepare ... --download`` then unpacks it without touching the network.

Archives are unpacked by :func:`safe_extract`: every member is checked *before* anything
is written (no absolute paths, no ``..``, no links leaving the root, no devices), the
archive is unpacked into a staging folder inside the root, and only a complete
extraction is moved into place. A malicious or truncated archive therefore leaves the
root as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..io import PART_SUFFIX

CHUNK = 1 << 20  # bytes read and hashed at a time
USER_AGENT = "t2ilib (https://github.com/t2i-book/t2i-book)"
TIMEOUT_S = 60  # seconds without a byte before a download gives up


class DownloadError(OSError):
    """A file could not be fetched (network, server, quota). The message says what to do."""


class IntegrityError(ValueError):
    """A file's size or checksum differs from the published one."""


class ArchiveError(ValueError):
    """An archive is truncated, corrupt, or holds a member that would land outside the root."""


@dataclass(frozen=True)
class Resource:
    """One file to fetch: where from, what it should be, where its checksum was published.

    Exactly one of ``url`` and ``gdrive_id`` is set.
    """

    filename: str  # name under the dataset root, e.g. "CUB_200_2011.tgz"
    url: str | None = None  # HTTP(S) URL of the file
    gdrive_id: str | None = None  # Google Drive file id (fetched with gdown)
    size: int | None = None  # bytes, where known
    md5: str | None = None  # hex digest, where published
    checksum_source: str = ""  # who publishes the checksum/size (or why there is none)
    extract: bool = False  # unpack it into the root after download
    produces: str = ""  # what unpacking it creates, e.g. "CUB_200_2011/"
    # Reed's archives: their layout is not documented by their author, so whatever they
    # unpack to (a folder of another name, or loose files) is placed in `produces`.
    place_in_produces: bool = False

    def __post_init__(self):
        if (self.url is None) == (self.gdrive_id is None):
            raise ValueError(f"{self.filename}: set exactly one of url and gdrive_id")

    @property
    def location(self) -> str:
        """Where a person can fetch it by hand."""
        if self.url:
            return self.url
        return f"https://drive.google.com/uc?id={self.gdrive_id}"


# ---------------------------------------------------------------------------------------
# The tables
# ---------------------------------------------------------------------------------------

CUB_RESOURCES: tuple[Resource, ...] = (
    Resource(
        filename="CUB_200_2011.tgz",
        url="https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz?download=1",
        size=1_150_585_339,
        md5="97eceeb196236b17998738112f37df78",
        checksum_source=(
            "MD5 as listed by TDeVries/cub2011_dataset and ContinualAI/avalanche's CUB200; "
            "size as served by CaltechDATA (fastai's checks list the same)"
        ),
        extract=True,
        produces="CUB_200_2011/",
    ),
    Resource(
        filename="cvpr2016_cub.tar.gz",
        gdrive_id="0B0ywwgffWnLLZW9uVHNjb2JmNlE",
        checksum_source=(
            "no published checksum or size; Drive id from the reedscot/cvpr2016 README "
            "(birds data); checked by verifying the extracted files"
        ),
        extract=True,
        produces="cvpr2016_cub/",
        place_in_produces=True,
    ),
)

FLOWERS_RESOURCES: tuple[Resource, ...] = (
    Resource(
        filename="imagelabels.mat",
        url="https://www.robots.ox.ac.uk/~vgg/data/flowers/102/imagelabels.mat",
        md5="e0620be6f572b9609742df49c70aed4d",
        checksum_source="MD5 from torchvision's Flowers102 (_file_dict); size not published",
    ),
    Resource(
        filename="setid.mat",
        url="https://www.robots.ox.ac.uk/~vgg/data/flowers/102/setid.mat",
        md5="a5357ecc9cb78c4bef273ce3793fc85c",
        checksum_source="MD5 from torchvision's Flowers102 (_file_dict); size not published",
    ),
    Resource(
        filename="102flowers.tgz",
        url="https://www.robots.ox.ac.uk/~vgg/data/flowers/102/102flowers.tgz",
        size=344_862_509,
        md5="52808999861908f626f3c1f4e79d11fa",
        checksum_source="MD5 from torchvision's Flowers102 (_file_dict)",
        extract=True,
        produces="jpg/",
    ),
    Resource(
        filename="cvpr2016_flowers.tar.gz",
        gdrive_id="0B0ywwgffWnLLcms2WWJQRFNSWXM",
        checksum_source=(
            "no published checksum or size; Drive id from the reedscot/cvpr2016 README "
            "(flowers data; an earlier README revision linked 0B0ywwgffWnLLZHluQm5SRkdWTDQ); "
            "checked by verifying the extracted files"
        ),
        extract=True,
        produces="cvpr2016_flowers/",
        place_in_produces=True,
    ),
)

COCO_RESOURCES: tuple[Resource, ...] = (
    Resource(
        filename="annotations_trainval2014.zip",
        url="http://images.cocodataset.org/annotations/annotations_trainval2014.zip",
        size=252_872_794,
        md5="0a379cfc70b0e71301e0f377548639bd",
        checksum_source=(
            "MD5 as listed by PaddleNLP's COCOCaptions (equal to the S3 ETag); size as "
            "served by images.cocodataset.org"
        ),
        extract=True,
        produces="annotations/",
    ),
    Resource(
        filename="train2014.zip",
        url="http://images.cocodataset.org/zips/train2014.zip",
        size=13_510_573_713,
        md5="0da8c0bd3d6becc4dcb32757491aca88",
        checksum_source="MD5 as listed by salesforce/LAVIS; size as served",
        extract=True,
        produces="train2014/",
    ),
    Resource(
        filename="val2014.zip",
        url="http://images.cocodataset.org/zips/val2014.zip",
        size=6_645_013_297,
        md5="a3d79f5ed8d289b7a7554ce06a5782b3",
        checksum_source="MD5 as listed by salesforce/LAVIS; size as served",
        extract=True,
        produces="val2014/",
    ),
)

# Reed's icml2016 caption data in Torch format (per-image t7 files; see t2ilib.data.torch7).
# Not needed by `prepare`; listed for people who want the original files.
ICML2016_RESOURCES: dict[str, Resource] = {
    "cub": Resource(
        filename="cub_icml.tar.gz",
        gdrive_id="0B0ywwgffWnLLbXlIekszSWE5VVU",
        checksum_source="no published checksum; Drive id from the reedscot/icml2016 README",
        extract=True,
        produces="cub_icml/",
    ),
    "flowers": Resource(
        filename="flowers_icml.tar.gz",
        gdrive_id="0B0ywwgffWnLLYjFMSGpmSVl3bVE",
        checksum_source="no published checksum; Drive id from the reedscot/icml2016 README",
        extract=True,
        produces="flowers_icml/",
    ),
    "coco": Resource(
        filename="coco_icml.tar.gz",
        gdrive_id="0B0ywwgffWnLLamltREhDRjlaT3M",
        checksum_source="no published checksum; Drive id from the reedscot/icml2016 README",
        extract=True,
        produces="(archive layout not documented by its author)",
    ),
}

RESOURCES: dict[str, tuple[Resource, ...]] = {
    "cub": CUB_RESOURCES,
    "flowers": FLOWERS_RESOURCES,
    "coco": COCO_RESOURCES,
}


# ---------------------------------------------------------------------------------------
# Checking files
# ---------------------------------------------------------------------------------------


def md5sum(path: str | os.PathLike, chunk: int = CHUNK) -> str:
    """The MD5 hex digest of a file, read ``chunk`` bytes at a time (torchvision's
    ``calculate_md5``)."""
    from torchvision.datasets.utils import calculate_md5

    return calculate_md5(str(path), chunk_size=chunk)


def integrity_problem(path: str | os.PathLike, resource: Resource) -> str | None:
    """None if ``path`` has the resource's published size and MD5, else what is wrong."""
    path = Path(path)
    if not path.is_file():
        return "missing"
    if resource.size is not None and path.stat().st_size != resource.size:
        return f"size {path.stat().st_size} bytes, expected {resource.size}"
    if resource.md5 is not None:
        digest = md5sum(path)
        if digest != resource.md5:
            return f"MD5 {digest}, expected {resource.md5}"
    return None


def check_integrity(path: str | os.PathLike, resource: Resource) -> bool:
    """True when ``path`` matches the published size and checksum (torchvision's name)."""
    return integrity_problem(path, resource) is None


# ---------------------------------------------------------------------------------------
# Downloading
# ---------------------------------------------------------------------------------------


def _http_open(url: str, start: int = 0):
    """Open ``url`` from byte ``start``; returns (response, status, total size or None).

    The one place that touches the network for HTTP (tests replace it).
    """
    headers = {"User-Agent": USER_AGENT}
    if start:
        headers["Range"] = f"bytes={start}-"
    request = urllib.request.Request(url, headers=headers)
    response = urllib.request.urlopen(request, timeout=TIMEOUT_S)  # noqa: S310 - fixed URLs
    status = getattr(response, "status", 200)
    length = response.headers.get("Content-Length")
    total = None
    if status == 206:
        content_range = response.headers.get("Content-Range", "")
        total_text = content_range.rpartition("/")[2]
        total = int(total_text) if total_text.isdigit() else None
    elif length is not None and length.isdigit():
        total = int(length)
    return response, status, total


def _progress_bar(total: int | None, initial: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=desc,
        disable=not enabled,
    )


def download_url(
    url: str,
    dest: str | os.PathLike,
    *,
    size: int | None = None,
    md5: str | None = None,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part``, resuming a previous ``.part``.

    The server is asked for the missing bytes only (HTTP ``Range``); a server that ignores
    the request (status 200) makes the download start over. When the bytes are all there,
    the size and MD5 are checked; a mismatch deletes the ``.part`` file and raises
    :class:`IntegrityError`, a match renames it to ``dest``. Network failures raise
    :class:`DownloadError` and keep the ``.part`` file for the next attempt.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + PART_SUFFIX)
    start = part.stat().st_size if part.exists() else 0
    if size is not None and start > size:  # a stale .part larger than the file: start over
        part.unlink()
        start = 0
    if size is None or start < size:
        try:
            response, status, total = _http_open(url, start)
        except urllib.error.HTTPError as e:
            if e.code == 416 and size is not None and start == size:  # already complete
                response = None
            else:
                raise DownloadError(
                    f"could not download {url}: HTTP {e.code} {e.reason}; try again later or "
                    f"fetch it by hand and save it as {dest}"
                ) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise DownloadError(
                f"could not download {url}: {reason}; check the network and run the same "
                f"command again (it resumes), or fetch it by hand and save it as {dest}"
            ) from None
        if response is not None:
            if status != 206:  # the server sent the whole file
                start = 0
            mode = "ab" if start else "wb"
            expected = size if size is not None else total
            with (
                contextlib.closing(response),
                open(part, mode) as f,
                _progress_bar(expected, start, dest.name, progress) as bar,
            ):
                try:
                    while block := response.read(CHUNK):
                        f.write(block)
                        bar.update(len(block))
                except OSError as e:
                    raise DownloadError(
                        f"download of {url} stopped after {f.tell()} bytes ({e}); run the "
                        "same command again to resume"
                    ) from None
    problem = integrity_problem(part, Resource(dest.name, url=url, size=size, md5=md5))
    if problem is not None:
        got = part.stat().st_size
        if size is not None and got < size:
            raise DownloadError(
                f"download of {url} ended early ({got} of {size} bytes); run the same "
                "command again to resume"
            )
        part.unlink()
        raise IntegrityError(
            f"downloaded {dest.name} does not match its published checksum ({problem}); "
            f"the partial file was deleted, run the command again or fetch it from {url}"
        )
    os.replace(part, dest)
    return dest


def _gdown_download(file_id: str, output: str) -> str | None:
    """Fetch a Google Drive file with gdown (tests replace this function)."""
    try:
        import gdown
    except ImportError:  # pragma: no cover - gdown is a dependency
        raise DownloadError(
            "the gdown package is needed for Reed's Google Drive files; run `pip install gdown`"
        ) from None
    return gdown.download(id=file_id, output=output, quiet=False, resume=True)


def download_gdrive(
    file_id: str,
    dest: str | os.PathLike,
    *,
    size: int | None = None,
    md5: str | None = None,
) -> Path:
    """Download a Google Drive file to ``dest`` through ``dest.part`` (gdown resumes it)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + PART_SUFFIX)
    url = f"https://drive.google.com/uc?id={file_id}"
    try:
        result = _gdown_download(file_id, str(part))
    except DownloadError:
        raise
    except Exception as e:  # gdown raises its own types for quotas, permissions, HTML pages
        raise DownloadError(
            f"could not download {url} with gdown ({type(e).__name__}: {e}); Google Drive "
            f"may be over its quota: open the link in a browser and save the file as {dest}"
        ) from None
    if result is None or not part.is_file():
        raise DownloadError(
            f"gdown fetched nothing from {url}; open the link in a browser and save the file "
            f"as {dest}"
        )
    problem = integrity_problem(part, Resource(dest.name, gdrive_id=file_id, size=size, md5=md5))
    if problem is not None:
        part.unlink()
        raise IntegrityError(
            f"downloaded {dest.name} does not match ({problem}); the partial file was deleted"
        )
    os.replace(part, dest)
    return dest


def fetch(resource: Resource, root: str | os.PathLike, *, progress: bool = True) -> Path:
    """Download ``resource`` into ``root`` unless a verified copy is already there."""
    dest = Path(root) / resource.filename
    if dest.is_file() and check_integrity(dest, resource):
        return dest
    if dest.is_file():  # present but wrong: fetch again
        dest.unlink()
    if resource.url:
        return download_url(
            resource.url, dest, size=resource.size, md5=resource.md5, progress=progress
        )
    return download_gdrive(resource.gdrive_id, dest, size=resource.size, md5=resource.md5)


# ---------------------------------------------------------------------------------------
# Safe extraction
# ---------------------------------------------------------------------------------------

STAGING_PREFIX = ".extract-"  # staging folders inside the root: ROOT/.extract-<archive>


def _check_member_name(name: str, archive: Path) -> PurePosixPath:
    """The member's path if it stays inside the root; ArchiveError otherwise."""
    if "\x00" in name:
        raise ArchiveError(f"{archive.name}: member {name!r} has a NUL byte in its name")
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or (posix.parts and posix.parts[0].endswith(":")):
        raise ArchiveError(
            f"{archive.name}: member {name!r} has an absolute path; refusing to extract "
            "anything from this archive"
        )
    if ".." in posix.parts:
        raise ArchiveError(
            f"{archive.name}: member {name!r} points outside the root ('..'); refusing to "
            "extract anything from this archive"
        )
    return posix


def _check_tar_member(member: tarfile.TarInfo, archive: Path) -> None:
    path = _check_member_name(member.name, archive)
    if member.isdev() or member.isfifo():
        raise ArchiveError(f"{archive.name}: member {member.name!r} is a device or pipe")
    if member.issym() or member.islnk():
        target = PurePosixPath(member.linkname.replace("\\", "/"))
        if target.is_absolute():
            raise ArchiveError(
                f"{archive.name}: link {member.name!r} -> {member.linkname!r} is absolute; "
                "refusing to extract anything from this archive"
            )
        # Symlink targets are relative to the link's folder, hard links to the root.
        base = path.parent if member.issym() else PurePosixPath()
        depth = 0
        for part in (base / target).parts:
            depth += -1 if part == ".." else (0 if part == "." else 1)
            if depth < 0:
                raise ArchiveError(
                    f"{archive.name}: link {member.name!r} -> {member.linkname!r} leaves the "
                    "root; refusing to extract anything from this archive"
                )


def _merge_into(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``; folders are merged, files replace files."""
    if dst.is_dir() and src.is_dir() and not dst.is_symlink():
        for child in src.iterdir():
            _merge_into(child, dst / child.name)
        src.rmdir()
    else:
        if dst.is_dir() and not dst.is_symlink():
            shutil.rmtree(dst)
        os.replace(src, dst)


def safe_extract(
    archive: str | os.PathLike, root: str | os.PathLike, *, place_in: str | None = None
) -> list[str]:
    """Unpack a tar (any compression) or zip archive into ``root``; returns its top entries.

    Every member is checked first; an absolute path, a ``..`` component, a link whose
    target leaves the root, or a device raises :class:`ArchiveError` before anything is
    written. A truncated or corrupt archive raises :class:`ArchiveError` too. Unpacking
    goes to ``root/.extract-<archive name>`` and is moved into ``root`` only when complete,
    so a failure leaves ``root`` as it was.

    ``place_in``: the folder the archive is meant to create (e.g. ``"cvpr2016_cub"``). An
    archive that does not create it, because its contents sit at its top level or in one
    folder of another name, is moved into ``root/<place_in>`` instead.
    """
    archive, root = Path(archive), Path(root)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f"{STAGING_PREFIX}{archive.name}"
    if staging.exists():
        shutil.rmtree(staging)
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, staging)
        else:
            _extract_tar(archive, staging)
        tops = sorted(p.name for p in staging.iterdir()) if staging.exists() else []
        if place_in and tops and place_in not in tops:
            single = len(tops) == 1 and (staging / tops[0]).is_dir()
            _merge_into(staging / tops[0] if single else staging, root / place_in)
            return [place_in]
        for name in tops:
            _merge_into(staging / name, root / name)
        return tops
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _extract_tar(archive: Path, staging: Path) -> None:
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()  # reads every header: truncation shows up here
            for member in members:
                _check_tar_member(member, archive)
            staging.mkdir()
            tar.extractall(staging, members=members, filter="data")
    except ArchiveError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib_error()) as e:
        raise _unpack_error(archive, e) from None


def _extract_zip(archive: Path, staging: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            for info in infos:
                _check_member_name(info.filename, archive)
                mode = info.external_attr >> 16
                if (mode & 0o170000) == 0o120000:  # a symlink entry (zipfile writes it as a file)
                    raise ArchiveError(
                        f"{archive.name}: member {info.filename!r} is a symbolic link; "
                        "refusing to extract anything from this archive"
                    )
            staging.mkdir()
            for info in infos:
                zf.extract(info, staging)
    except ArchiveError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, zlib_error()) as e:
        raise _unpack_error(archive, e) from None


def _unpack_error(archive: Path, e: Exception) -> Exception:
    """What went wrong while unpacking: a full disk (the archive is fine), or a truncated
    or corrupt archive (download it again)."""
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return OSError(
            e.errno,
            f"no space left on the device while unpacking {archive} (the archive itself is "
            "fine); free some space, or prepare the root on a larger disk, and run again",
        )
    return ArchiveError(
        f"{archive} is truncated or corrupt ({type(e).__name__}: {e}); delete it and "
        "download it again"
    )


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error


# ---------------------------------------------------------------------------------------
# Verifying a root, and preparing one
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One missing or corrupt file (or folder) of a dataset root, and where it comes from."""

    path: Path  # the file or folder, under the root
    what: str  # "missing", "missing folder", "corrupt (...)", ...
    source: str  # the archive or URL it comes from

    def __str__(self) -> str:
        return f"{self.what}: {self.path} (from {self.source})"


def caption_file_problems(text_root: Path, entries, source: str) -> list[Problem]:
    """Problems of the ``text_c10/<class>/<stem>.txt`` files of ``entries`` (class, stem).

    A missing class folder is reported once (not once per image); a missing or empty
    caption file is reported by its path.
    """
    problems: list[Problem] = []
    missing_folders: set[str] = set()
    for folder, stem in entries:
        if folder in missing_folders:
            continue
        txt = text_root / folder / f"{stem}.txt"
        if not txt.parent.is_dir():
            missing_folders.add(folder)
            problems.append(Problem(txt.parent, "missing folder", source))
        elif not txt.is_file():
            problems.append(Problem(txt, "missing", source))
        elif txt.stat().st_size == 0:
            problems.append(Problem(txt, "corrupt (empty caption file)", source))
    return problems


def source_of(resource: Resource) -> str:
    """``'CUB_200_2011.tgz, https://...'``: how a Problem names where a file comes from."""
    return f"{resource.filename}, {resource.location}"


def prepare_root(
    root: str | os.PathLike,
    resources: tuple[Resource, ...],
    verify,
    *,
    download: bool = False,
    progress: bool = True,
    keep_archives: bool = True,
) -> list[Problem]:
    """Fetch and unpack ``resources`` into ``root`` (if ``download``), then ``verify(root)``.

    A resource whose extracted files already verify is not downloaded again. Resources are
    fetched in table order and the root is verified again after each, so annotation files
    listed first let the verifier list the images the next archives must provide. Download and
    extraction failures become Problems (with the reason) rather than exceptions, so the
    caller can print every problem of the root at once. ``keep_archives=False`` deletes
    each archive once it is unpacked.
    """
    root = Path(root)
    problems: list[Problem] = []
    if download:
        root.mkdir(parents=True, exist_ok=True)
        present = verify(root)
        for resource in resources:
            target = root / (
                resource.produces.rstrip("/") if resource.extract else resource.filename
            )
            needed = not target.exists() or any(
                p.path == target or target in p.path.parents for p in present
            )
            if not needed:
                continue
            try:
                path = fetch(resource, root, progress=progress)
                if resource.extract:
                    place = resource.produces.rstrip("/") if resource.place_in_produces else None
                    safe_extract(path, root, place_in=place)
                    if not keep_archives:
                        path.unlink()
                present = verify(root)  # e.g. a labels file lets the images be listed
            except (DownloadError, IntegrityError, ArchiveError) as e:
                problems.append(
                    Problem(root / resource.filename, f"not fetched ({e})", source_of(resource))
                )
    if not root.is_dir():
        return [Problem(root, "missing folder", "the dataset root (--root)")]
    return problems + verify(root)


def looks_like_jpeg(path: str | os.PathLike) -> str | None:
    """None if ``path`` starts and ends with the JPEG markers, else what is wrong.

    A cheap check (two reads, no decoding) that catches empty, truncated and non-JPEG
    files; a JPEG whose middle is damaged still passes and fails when it is decoded.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(3)
            f.seek(0, os.SEEK_END)
            n = f.tell()
            f.seek(max(0, n - 64))
            tail = f.read()
    except OSError as e:
        return f"unreadable ({e.strerror})"
    if n == 0:
        return "corrupt (empty file)"
    if head[:2] != b"\xff\xd8":
        return "corrupt (not a JPEG)"
    if b"\xff\xd9" not in tail:
        return "corrupt (truncated JPEG)"
    return None
