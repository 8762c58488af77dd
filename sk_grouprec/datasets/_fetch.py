"""Where the datasets live and how they get there: data home, download, checksums, safe unzip.

A dataset lives in a folder of the *data home*, chosen in this order:

1. the ``data_home`` argument of a loader;
2. the environment variable ``SK_GROUPREC_DATA``;
3. ``~/sk_grouprec_data`` in the user's home folder.

When a dataset is absent and the loader may download it, the official archive is fetched into
a temporary file of the data home, its md5 checksum is verified, and it is unpacked (every
member name checked first: no absolute path, no ``..``, no link) into a temporary folder that
is then renamed into place, so that an interrupted download never leaves a half-written
dataset behind. The files a loader reads are checked against their published md5 (once per
process and file). The environment variable ``SK_GROUPREC_MIRROR`` replaces the base URL of
every archive (the archive's file name is appended to it), for a local mirror or a proxy;
checksums are verified all the same.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import stat
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath

DATA_HOME_ENV = "SK_GROUPREC_DATA"
MIRROR_ENV = "SK_GROUPREC_MIRROR"
DEFAULT_DATA_HOME = Path("~") / "sk_grouprec_data"

# Guards against a wrong or hostile download: the real archives are a few megabytes.
MAX_DOWNLOAD_BYTES = 200 * 2**20
MAX_UNPACKED_BYTES = 500 * 2**20

logger = logging.getLogger(__name__)


class ChecksumError(OSError):
    """A dataset file does not have its published checksum.

    Attributes
    ----------
    path : str
        The file at fault.
    expected : str
        The published md5 checksum.
    actual : str
        The md5 checksum of the file found.

    Examples
    --------
    >>> from sk_grouprec.datasets import ChecksumError
    >>> error = ChecksumError("u.data is corrupt", path="ml-100k/u.data",
    ...                       expected="6e47046882bad158b0efbb84cd5cb987", actual="0" * 32)
    >>> isinstance(error, OSError), error.path
    (True, 'ml-100k/u.data')
    """

    def __init__(self, message, *, path, expected, actual):
        super().__init__(message)
        self.path = str(path)
        self.expected = expected
        self.actual = actual


class UnsafeArchiveError(OSError):
    """An archive holds a member that would be written outside its folder, or a link.

    Raised before anything is extracted.

    Examples
    --------
    >>> import os, tempfile, zipfile
    >>> from sk_grouprec.datasets import UnsafeArchiveError
    >>> from sk_grouprec.datasets._fetch import safe_extract_zip
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "evil.zip")
    ...     with zipfile.ZipFile(path, "w") as archive:
    ...         archive.writestr("../evil.txt", "outside")
    ...     try:
    ...         safe_extract_zip(path, tmp)
    ...     except UnsafeArchiveError:
    ...         print("refused")
    refused
    """


@dataclass(frozen=True)
class RemoteArchive:
    """Where a dataset comes from and what its files must look like.

    Parameters
    ----------
    name : str
        Human-readable name, used in messages.
    url : str
        Address of the official archive.
    filename : str
        File name of the archive (appended to ``SK_GROUPREC_MIRROR`` when that is set).
    md5 : str
        md5 checksum of the archive.
    folder : str
        Sub-folder of the data home holding the dataset.
    files : tuple of (str, str)
        ``(name, md5)`` of the files the dataset must hold in ``folder``; each is checked
        before it is read.
    extract_root : str or None
        Folder inside the archive that becomes ``folder`` once unpacked; ``None`` keeps the
        archive itself, unpacked, as ``folder/filename``.
    """

    name: str
    url: str
    filename: str
    md5: str
    folder: str
    files: tuple
    extract_root: str | None = None

    def resolved_url(self):
        """The archive's URL, with ``SK_GROUPREC_MIRROR`` applied when set."""
        mirror = os.environ.get(MIRROR_ENV)
        if mirror:
            return mirror.rstrip("/") + "/" + self.filename
        return self.url

    def file_md5(self, name):
        """The expected md5 of the file ``name``."""
        return dict(self.files)[name]


def get_data_home(data_home=None):
    """Return the folder holding the datasets, creating it if needed.

    The folder is ``data_home`` when given, else the value of the environment variable
    ``SK_GROUPREC_DATA``, else ``~/sk_grouprec_data``. ``~`` is expanded to the user's home.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder to use instead of the environment variable and the default.

    Returns
    -------
    data_home : pathlib.Path
        The folder (it exists on return).

    Examples
    --------
    >>> import tempfile
    >>> from sk_grouprec.datasets._fetch import get_data_home
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     get_data_home(tmp).is_dir()
    True
    """
    path = _resolve_data_home(data_home)
    path.mkdir(parents=True, exist_ok=True)
    return path


def clear_data_home(data_home=None):
    """Delete the data home folder and everything in it.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to delete, resolved as in :func:`get_data_home`.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_grouprec.datasets._fetch import clear_data_home, get_data_home
    >>> tmp = tempfile.mkdtemp()
    >>> home = get_data_home(os.path.join(tmp, "cache"))
    >>> clear_data_home(home)
    >>> home.exists()
    False
    >>> os.rmdir(tmp)
    """
    shutil.rmtree(_resolve_data_home(data_home), ignore_errors=True)


def load_descr(filename):
    """Text of the dataset description ``descr/<filename>`` shipped with the package."""
    return (resources.files("sk_grouprec.datasets") / "descr" / filename).read_text(
        encoding="utf-8"
    )


def _resolve_data_home(data_home):
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or DEFAULT_DATA_HOME
    if not isinstance(data_home, (str, os.PathLike)):
        raise TypeError(f"data_home must be a str or path-like; got {type(data_home).__name__}.")
    return Path(data_home).expanduser()


def fetch_dataset(remote, *, data_home=None, download_if_missing=True, url=None):
    """Make sure the dataset described by ``remote`` is in the data home; return its folder.

    Parameters
    ----------
    remote : RemoteArchive
        The dataset.
    data_home : str or path-like, default=None
        See :func:`get_data_home`.
    download_if_missing : bool, default=True
        Download the archive when the dataset is absent; otherwise raise.
    url : str, default=None
        Address to download from instead of ``remote.resolved_url()``.

    Returns
    -------
    folder : pathlib.Path
        ``<data_home>/<remote.folder>``, holding every file of ``remote.files`` with its
        published checksum.

    Raises
    ------
    FileNotFoundError
        When the dataset is absent and ``download_if_missing`` is False, or incomplete.
    ChecksumError
        When a file (downloaded or found) does not have its published checksum.
    UnsafeArchiveError
        When the downloaded archive holds a member that would land outside its folder.
    OSError
        When the download fails.
    """
    home = get_data_home(data_home)
    folder = home / remote.folder
    url = url or remote.resolved_url()
    if not any((folder / name).exists() for name, _ in remote.files):
        if not download_if_missing:
            raise FileNotFoundError(
                f"{remote.name} was not found in '{folder}' and download_if_missing=False. "
                + _how_to_place(remote, home, url)
            )
        _download_and_install(remote, home, url)
    for name, md5 in remote.files:
        verify_file(folder / name, md5, remote=remote, data_home=home, url=url)
    return folder


def verify_file(path, md5, *, remote, data_home, url=None):
    """Check that ``path`` exists and has the md5 checksum ``md5``.

    The checksum of a file is computed once per process (and again when the file's size or
    modification time changes).

    Parameters
    ----------
    path : path-like
    md5 : str
        Expected md5 checksum (hex).
    remote : RemoteArchive
        The dataset the file belongs to (named in messages).
    data_home : path-like
        The data home (named in messages).
    url : str, default=None
        Download address named in messages (``remote.resolved_url()`` when None).

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    FileNotFoundError, ChecksumError
    """
    path = Path(path)
    url = url or remote.resolved_url()
    if not path.is_file():
        raise FileNotFoundError(
            f"{remote.name}: the file '{path}' is missing (the dataset folder is incomplete). "
            f"Delete '{Path(data_home) / remote.folder}' to download the dataset again. "
            + _how_to_place(remote, data_home, url)
        )
    actual = file_md5(path)
    if actual != md5:
        raise ChecksumError(
            f"{remote.name}: the file '{path}' has md5 checksum {actual}, expected {md5}: it is "
            f"corrupt, incomplete or not the official release. Delete it (and the folder "
            f"'{Path(data_home) / remote.folder}') to download the dataset again. "
            + _how_to_place(remote, data_home, url),
            path=path,
            expected=md5,
            actual=actual,
        )
    return path


_MD5_CACHE: dict = {}


def file_md5(path):
    """md5 checksum (hex) of a file, cached per (path, size, modification time)."""
    path = Path(path)
    info = path.stat()
    key = (str(path.resolve()), info.st_size, info.st_mtime_ns, info.st_ino)
    digest = _MD5_CACHE.get(key)
    if digest is None:
        hasher = hashlib.md5(usedforsecurity=False)
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(chunk)
        digest = _MD5_CACHE[key] = hasher.hexdigest()
    return digest


def _how_to_place(remote, data_home, url):
    folder = Path(data_home) / remote.folder
    if remote.extract_root is None:
        where = f"save it as '{folder / remote.filename}'"
    else:
        first = remote.files[0][0]
        where = (
            f"unpack it so that its folder '{remote.extract_root}/' becomes '{folder}' "
            f"(e.g. '{folder / first}' exists)"
        )
    return (
        f"To place the data by hand: download {url} (md5 {remote.md5}) and {where}, or point "
        f"data_home= or the environment variable {DATA_HOME_ENV} at a folder holding "
        f"'{remote.folder}/'."
    )


def _download_and_install(remote, home, url):
    logger.info("Downloading %s from %s to %s", remote.name, url, home)
    archive = _download(url, home, remote)
    try:
        folder = home / remote.folder
        if remote.extract_root is None:
            folder.mkdir(exist_ok=True)
            os.replace(archive, folder / remote.filename)
            return
        staging = Path(tempfile.mkdtemp(prefix=f".{remote.folder}.unpack-", dir=home))
        try:
            safe_extract_zip(archive, staging)
            unpacked = staging / remote.extract_root
            if not unpacked.is_dir():
                raise OSError(
                    f"{remote.name}: the archive from {url} has no folder "
                    f"'{remote.extract_root}/'. " + _how_to_place(remote, home, url)
                )
            for name, md5 in remote.files:
                if not (unpacked / name).is_file():
                    raise OSError(
                        f"{remote.name}: the archive from {url} lacks the file "
                        f"'{remote.extract_root}/{name}'; nothing was installed."
                    )
                verify_file(unpacked / name, md5, remote=remote, data_home=home, url=url)
            try:
                os.replace(unpacked, folder)
            except OSError:
                # Another process may have installed the dataset meanwhile; keep its copy.
                if not all((folder / name).is_file() for name, _ in remote.files):
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        Path(archive).unlink(missing_ok=True)


def _download(url, directory, remote, *, n_retries=2, delay=1.0, timeout=60):
    """Download ``url`` into a temporary file of ``directory``; verify its md5; return it."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https", "file"):
        raise ValueError(
            f"{remote.name}: cannot download from {url!r}: only http(s) and file URLs."
        )
    for attempt in range(n_retries + 1):
        handle = tempfile.NamedTemporaryFile(
            prefix=f".{remote.filename}.part-", dir=directory, delete=False
        )
        path = Path(handle.name)
        try:
            with handle, urllib.request.urlopen(url, timeout=timeout) as response:
                actual = _copy_with_md5(response, handle, url, remote)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            path.unlink(missing_ok=True)
            retryable = not isinstance(exc, urllib.error.HTTPError) or exc.code >= 500
            if retryable and attempt < n_retries:
                logger.warning("Download of %s failed (%s); retrying in %.0f s", url, exc, delay)
                time.sleep(delay)
                continue
            raise OSError(
                f"{remote.name}: could not download {url}: {exc}. "
                + _how_to_place(remote, directory, url)
            ) from exc
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if actual != remote.md5:
            path.unlink(missing_ok=True)
            raise ChecksumError(
                f"{remote.name}: the file downloaded from {url} has md5 checksum {actual}, "
                f"expected {remote.md5}: the download is corrupt or the file has changed "
                f"upstream; it was deleted. " + _how_to_place(remote, directory, url),
                path=url,
                expected=remote.md5,
                actual=actual,
            )
        return path
    raise AssertionError("unreachable")  # pragma: no cover


def _copy_with_md5(response, handle, url, remote):
    hasher = hashlib.md5(usedforsecurity=False)
    size = 0
    for chunk in iter(lambda: response.read(1 << 16), b""):
        size += len(chunk)
        if size > MAX_DOWNLOAD_BYTES:
            raise OSError(
                f"{remote.name}: the download from {url} exceeds {MAX_DOWNLOAD_BYTES} bytes; "
                "this is not the expected archive."
            )
        hasher.update(chunk)
        handle.write(chunk)
    return hasher.hexdigest()


_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_extract_zip(archive, destination):
    """Unpack a zip archive into ``destination``, refusing any member that could escape it.

    Every member is checked before anything is written: absolute names, drive letters,
    backslashes, ``..`` components, symbolic links, duplicated names and an unpacked size over
    ``MAX_UNPACKED_BYTES`` reject the whole archive.

    Parameters
    ----------
    archive : path-like
        The zip file.
    destination : path-like
        An existing folder.

    Raises
    ------
    UnsafeArchiveError
        Naming the first offending member.

    Examples
    --------
    >>> import os, tempfile, zipfile
    >>> from sk_grouprec.datasets._fetch import safe_extract_zip
    >>> tmp = tempfile.mkdtemp()
    >>> with zipfile.ZipFile(os.path.join(tmp, "a.zip"), "w") as zf:
    ...     zf.writestr("data/x.txt", "hello")
    >>> os.mkdir(os.path.join(tmp, "out"))
    >>> safe_extract_zip(os.path.join(tmp, "a.zip"), os.path.join(tmp, "out"))
    >>> with open(os.path.join(tmp, "out", "data", "x.txt")) as f:
    ...     f.read()
    'hello'
    >>> import shutil
    >>> shutil.rmtree(tmp)
    """
    destination = Path(destination)
    root = os.path.realpath(destination)
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        seen = set()
        total = 0
        for member in members:
            reason = _unsafe_reason(member, root)
            if reason is None and member.filename.rstrip("/") in seen:
                reason = "appears twice"
            if reason is not None:
                raise UnsafeArchiveError(
                    f"refusing to unpack '{archive}': member {member.filename!r} {reason}; "
                    "nothing was written."
                )
            seen.add(member.filename.rstrip("/"))
            total += member.file_size
        if total > MAX_UNPACKED_BYTES:
            raise UnsafeArchiveError(
                f"refusing to unpack '{archive}': it unpacks to {total} bytes, more than "
                f"{MAX_UNPACKED_BYTES}; nothing was written."
            )
        for member in members:
            target = destination.joinpath(*PurePosixPath(member.filename).parts)
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as src, open(target, "xb") as dst:
                shutil.copyfileobj(src, dst)


def _unsafe_reason(member, root):
    name = member.filename
    if not name or "\x00" in name:
        return "has an empty or invalid name"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "is an absolute path"
    if "\\" in name:
        return "contains a backslash"
    parts = PurePosixPath(name).parts
    if ".." in parts:
        return "contains '..'"
    file_type = stat.S_IFMT(member.external_attr >> 16)
    if file_type == stat.S_IFLNK:
        return "is a symbolic link"
    if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "is not a regular file or folder"
    target = os.path.realpath(os.path.join(root, *parts))
    if os.path.commonpath([root, target]) != root:
        return "would be written outside the destination"
    return None
