"""Data home, download, checksum and safe unpacking, against a loopback HTTP server only."""

import dataclasses
import functools
import hashlib
import http.server
import io
import os
import stat
import threading
import zipfile
from pathlib import Path

import pytest

from sk_grouprec.datasets import _fetch, _itm_rec, _movielens
from sk_grouprec.datasets._fetch import (
    ChecksumError,
    RemoteArchive,
    UnsafeArchiveError,
    clear_data_home,
    fetch_dataset,
    get_data_home,
    safe_extract_zip,
)


def md5(payload):
    return hashlib.md5(payload).hexdigest()


# --- tiny fake datasets with the official layouts -------------------------------------------


def fake_ml100k_files():
    """The files of a tiny ml-100k folder, same formats as the official ones."""
    genres = "".join(f"{g}|{i}\n" for i, g in enumerate(_movielens.GENRES)) + "\n"
    occupations = "engineer\nother\nstudent\nwriter\n"
    users = "1|24|M|engineer|85711\n2|53|F|other|T8H1N\n3|23|M|writer|02067\n"
    flags = ["0"] * 19
    comedy = flags.copy()
    comedy[5] = "1"
    noir = flags.copy()
    noir[10] = "1"
    unknown = flags.copy()
    unknown[0] = "1"
    items = "".join(
        "|".join([str(i), title, date, "", url, *genre]) + "\n"
        for i, title, date, url, genre in [
            (1, "Toy Story (1995)", "01-Jan-1995", "http://x/1", comedy),
            (2, "Caf\xe9 Noir (1990)", "01-Jan-1990", "http://x/2", noir),
            (3, "unknown", "", "", unknown),
            (4, "Late (1998)", "05-Mar-1998", "http://x/4", comedy),
        ]
    ).encode("latin-1")
    ratings = [
        (1, 1, 5),
        (1, 2, 3),
        (1, 3, 4),
        (2, 1, 2),
        (2, 4, 1),
        (3, 2, 4),
        (3, 3, 5),
        (3, 4, 3),
    ]
    lines = [f"{u}\t{i}\t{r}\t{880000000 + k}\n" for k, (u, i, r) in enumerate(ratings)]
    files = {
        "u.data": "".join(lines).encode(),
        "u.user": users.encode(),
        "u.item": items,
        "u.genre": genres.encode(),
        "u.occupation": occupations.encode(),
    }
    for s, split in enumerate(_movielens.SPLITS):
        test = {s % 8, (s + 3) % 8}
        files[f"{split}.base"] = "".join(ln for k, ln in enumerate(lines) if k not in test).encode()
        files[f"{split}.test"] = "".join(ln for k, ln in enumerate(lines) if k in test).encode()
    return files


def zip_bytes(members):
    """A zip archive of ``{name: bytes}``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, payload in members.items():
            zf.writestr(name, payload)
    return buffer.getvalue()


def fake_ml100k_archive():
    files = fake_ml100k_files()
    return zip_bytes({f"ml-100k/{name}": payload for name, payload in files.items()}), files


def fake_ml100k_remote(url, archive, files):
    core = tuple((name, md5(files[name])) for name, _ in _movielens.ARCHIVE.files)
    return RemoteArchive(
        name="Fake MovieLens",
        url=url,
        filename="ml-100k.zip",
        md5=md5(archive),
        folder="ml-100k",
        files=core,
        extract_root="ml-100k",
    )


def patch_movielens(monkeypatch, url):
    """Point the MovieLens loader at a fake archive served at ``url``; return the archive."""
    archive, files = fake_ml100k_archive()
    monkeypatch.setattr(_movielens, "ARCHIVE", fake_ml100k_remote(url, archive, files))
    monkeypatch.setattr(
        _movielens, "SPLIT_FILES", {name: md5(files[name]) for name in _movielens.SPLIT_FILES}
    )
    return archive, files


def crlf_csv(rows):
    """CSV text with CRLF line endings and no final newline, as ITM-Rec ships it."""
    return "\r\n".join(rows).encode()


def fake_itm_rec_archive(group_sizes=None):
    """A tiny ITM-Rec.zip with every quirk of the real one."""
    group_sizes = group_sizes or ["GroupID,Size", "100,2", "101,3"]
    members = {
        "users.csv": crlf_csv(
            [
                "UserID, Gender, Age,Married",
                "1,0,20-25,0",
                "2,1, 31-100,1",
                "3,1,>30,0",
                "4,0,<20,0",
            ]
        ),
        "items.csv": crlf_csv(
            ["Item,Title,URL,Descriptions", "1,E-Commerce ,http://a,", '2,Bank,http://b,"A, b"']
        ),
        "ratings.csv": crlf_csv(
            [
                "UserID,Item,Rating,App,Data,Ease,Class,Semester,Lockdown",
                "1,1,5,4,,3,DB,Fall,POS",
                "1,1,4,4,4,4,DA,Spring,PRE",
                "2,2,2,3,3,2,DM,Fall,DUR",
                "3,1,1,1,1,1,DM,Spring,POS",
            ]
        ),
        "group.csv": crlf_csv(
            ["GroupID,UserID", "100,1", "100,2", "100,2", "101,1", "101,2", "101,3"]
        ),
        "group_size.csv": crlf_csv(group_sizes),
        "group_ratings.csv": crlf_csv(
            [
                "GroupID,Item,Rating,App,Data,Ease,Class,Semester,Lockdown",
                "100,1,4,4,3,2,DB,Fall,PRE",
                "101,2,2,2,2,2,DA,Spring,POS",
            ]
        ),
    }
    members = {f"ITM-Rec/{name}": payload for name, payload in members.items()}
    return zip_bytes({"ITM-Rec/": b"", **members})


# --- a loopback HTTP server -------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """Serve the folder ``served/`` on 127.0.0.1; yields ``(base_url, folder)``."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", folder
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


def leftovers(path):
    return sorted(p.name for p in Path(path).iterdir())


# --- data home resolution ---------------------------------------------------------------------


def test_data_home_argument_beats_env_beats_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("SK_GROUPREC_DATA", str(tmp_path / "from_env"))
    assert get_data_home(tmp_path / "from_arg") == tmp_path / "from_arg"
    assert get_data_home() == tmp_path / "from_env"
    monkeypatch.delenv("SK_GROUPREC_DATA")
    assert get_data_home() == tmp_path / "user" / "sk_grouprec_data"
    assert (tmp_path / "user" / "sk_grouprec_data").is_dir()


def test_empty_env_var_means_unset_and_tilde_expands(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SK_GROUPREC_DATA", "")
    assert get_data_home() == tmp_path / "sk_grouprec_data"
    assert get_data_home("~/elsewhere") == tmp_path / "elsewhere"


def test_data_home_rejects_non_paths():
    with pytest.raises(TypeError, match="data_home"):
        get_data_home(3)


def test_clear_data_home(tmp_path):
    home = get_data_home(tmp_path / "cache")
    (home / "x.txt").write_text("x")
    clear_data_home(home)
    assert not home.exists()


def test_loader_uses_env_var(tmp_path, monkeypatch, server):
    base, served = server
    archive, _ = patch_movielens(monkeypatch, f"{base}/ml-100k.zip")
    (served / "ml-100k.zip").write_bytes(archive)
    monkeypatch.setenv("SK_GROUPREC_DATA", str(tmp_path / "env_home"))
    X, _ = _movielens.load_movielens_100k(return_X_y=True)
    assert len(X) == 8
    assert (tmp_path / "env_home" / "ml-100k" / "u.data").is_file()


def test_mirror_env_var_replaces_base_url(monkeypatch):
    monkeypatch.setenv("SK_GROUPREC_MIRROR", "http://127.0.0.1:9/mirror/")
    assert _movielens.ARCHIVE.resolved_url() == "http://127.0.0.1:9/mirror/ml-100k.zip"
    assert _itm_rec.ARCHIVE.resolved_url() == "http://127.0.0.1:9/mirror/ITM-Rec.zip"
    monkeypatch.delenv("SK_GROUPREC_MIRROR")
    assert _movielens.ARCHIVE.resolved_url().startswith("https://files.grouplens.org/")


# --- download ---------------------------------------------------------------------------------


def test_download_good_archive(server, home):
    base, served = server
    archive, files = fake_ml100k_archive()
    (served / "ml-100k.zip").write_bytes(archive)
    remote = fake_ml100k_remote(f"{base}/ml-100k.zip", archive, files)

    folder = fetch_dataset(remote, data_home=home)

    assert folder == home / "ml-100k"
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)
    assert (folder / "u.item").read_bytes() == files["u.item"]
    assert leftovers(home) == ["ml-100k"]  # no temporary file or folder left
    # Present now: found without the server, even when download is not allowed.
    (served / "ml-100k.zip").unlink()
    assert fetch_dataset(remote, data_home=home, download_if_missing=False) == folder


def test_download_via_mirror_env_var(server, home, monkeypatch):
    base, served = server
    archive, files = fake_ml100k_archive()
    (served / "ml-100k.zip").write_bytes(archive)
    remote = fake_ml100k_remote("http://127.0.0.1:9/unused.zip", archive, files)
    monkeypatch.setenv("SK_GROUPREC_MIRROR", base)
    assert (fetch_dataset(remote, data_home=home) / "u.data").is_file()


def test_download_kept_as_archive(server, home):
    base, served = server
    payload = fake_itm_rec_archive()
    (served / "ITM-Rec.zip").write_bytes(payload)
    remote = RemoteArchive(
        name="Fake ITM-Rec",
        url=f"{base}/ITM-Rec.zip",
        filename="ITM-Rec.zip",
        md5=md5(payload),
        folder="itm-rec",
        files=(("ITM-Rec.zip", md5(payload)),),
    )
    folder = fetch_dataset(remote, data_home=home)
    assert (folder / "ITM-Rec.zip").read_bytes() == payload
    assert leftovers(home) == ["itm-rec"]
    assert leftovers(folder) == ["ITM-Rec.zip"]


def test_corrupt_download_raises_with_expected_checksum(server, home):
    base, served = server
    archive, files = fake_ml100k_archive()
    corrupt = archive[:-10] + b"0123456789"
    (served / "ml-100k.zip").write_bytes(corrupt)
    url = f"{base}/ml-100k.zip"
    remote = fake_ml100k_remote(url, archive, files)

    with pytest.raises(ChecksumError) as info:
        fetch_dataset(remote, data_home=home)

    message = str(info.value)
    assert isinstance(info.value, OSError)
    assert remote.md5 in message and md5(corrupt) in message
    assert url in message and str(home / "ml-100k") in message
    assert (info.value.expected, info.value.actual) == (remote.md5, md5(corrupt))
    assert leftovers(home) == []  # the bad download was deleted, nothing installed


def test_archive_whose_files_have_wrong_checksums_is_not_installed(server, home):
    base, served = server
    archive, files = fake_ml100k_archive()
    (served / "ml-100k.zip").write_bytes(archive)
    remote = fake_ml100k_remote(f"{base}/ml-100k.zip", archive, files)
    wrong = (("u.data", "0" * 32),) + remote.files[1:]
    remote = dataclasses.replace(remote, files=wrong)
    with pytest.raises(ChecksumError, match="u.data.*0{32}"):
        fetch_dataset(remote, data_home=home)
    assert leftovers(home) == []


def test_missing_url_raises_oserror_naming_it(server, home):
    base, _ = server
    archive, files = fake_ml100k_archive()
    url = f"{base}/absent.zip"
    with pytest.raises(OSError, match="404") as info:
        fetch_dataset(fake_ml100k_remote(url, archive, files), data_home=home)
    assert url in str(info.value)
    assert leftovers(home) == []


def test_only_http_and_file_urls(home):
    archive, files = fake_ml100k_archive()
    remote = fake_ml100k_remote("ftp://127.0.0.1/ml-100k.zip", archive, files)
    with pytest.raises(ValueError, match="only http"):
        fetch_dataset(remote, data_home=home)


def test_missing_data_without_download_says_where_and_how(home):
    with pytest.raises(FileNotFoundError) as info:
        fetch_dataset(_movielens.ARCHIVE, data_home=home, download_if_missing=False)
    message = str(info.value)
    assert str(home / "ml-100k") in message
    assert _movielens.ARCHIVE.url in message and "SK_GROUPREC_DATA" in message
    with pytest.raises(FileNotFoundError, match="ITM-Rec.zip"):
        _itm_rec.load_itm_rec(data_home=home, download_if_missing=False)


# --- local files ------------------------------------------------------------------------------


def write_local_ml100k(home):
    archive, files = fake_ml100k_archive()
    folder = home / "ml-100k"
    folder.mkdir()
    for name, payload in files.items():
        (folder / name).write_bytes(payload)
    return fake_ml100k_remote("http://127.0.0.1:9/never.zip", archive, files), files


def test_local_corrupt_file_raises_checksum_error(home):
    remote, files = write_local_ml100k(home)
    assert fetch_dataset(remote, data_home=home, download_if_missing=False)
    data = home / "ml-100k" / "u.data"
    data.write_bytes(files["u.data"] + b"1\t1\t1\t1\n")  # changed after a first good check
    with pytest.raises(ChecksumError) as info:
        fetch_dataset(remote, data_home=home)
    assert str(data) in str(info.value) and remote.file_md5("u.data") in str(info.value)
    assert "http://127.0.0.1:9/never.zip" in str(info.value)


def test_local_incomplete_folder_raises(home):
    remote, _ = write_local_ml100k(home)
    (home / "ml-100k" / "u.user").unlink()
    with pytest.raises(FileNotFoundError, match="u.user"):
        fetch_dataset(remote, data_home=home)


# --- safe unpacking ---------------------------------------------------------------------------


def malicious_members(tmp_path):
    outside = tmp_path / "outside" / "abs.txt"
    return {
        "parent": "../evil.txt",
        "nested_parent": "data/../../evil.txt",
        "absolute": str(outside),
        "absolute_root": "/abs/path",
        "backslash": "..\\evil.txt",
        "drive": "C:/evil.txt",
    }


@pytest.mark.parametrize(
    "kind", ["parent", "nested_parent", "absolute", "absolute_root", "backslash", "drive"]
)
def test_safe_extract_rejects_escaping_members(tmp_path, kind):
    name = malicious_members(tmp_path)[kind]
    archive = tmp_path / "evil.zip"
    # The good member comes first: nothing at all may be written.
    archive.write_bytes(zip_bytes({"ok/good.txt": b"good", name: b"evil"}))
    destination = tmp_path / "dest" / "inner"
    destination.mkdir(parents=True)

    with pytest.raises(UnsafeArchiveError, match="nothing was written"):
        safe_extract_zip(archive, destination)

    assert list(destination.iterdir()) == []
    assert not (tmp_path / "dest" / "evil.txt").exists()
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "outside").exists()


def test_safe_extract_rejects_symlinks(tmp_path):
    info = zipfile.ZipInfo("data/link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    (tmp_path / "link.zip").write_bytes(buffer.getvalue())
    (tmp_path / "dest").mkdir()
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        safe_extract_zip(tmp_path / "link.zip", tmp_path / "dest")
    assert list((tmp_path / "dest").iterdir()) == []


def test_safe_extract_rejects_duplicates_and_oversize(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf, pytest.warns(UserWarning, match="Duplicate"):
        zf.writestr("a.txt", "1")
        zf.writestr("a.txt", "2")
    (tmp_path / "dup.zip").write_bytes(buffer.getvalue())
    (tmp_path / "big.zip").write_bytes(zip_bytes({"a.txt": b"x" * 1000}))
    (tmp_path / "dest").mkdir()
    with pytest.raises(UnsafeArchiveError, match="twice"):
        safe_extract_zip(tmp_path / "dup.zip", tmp_path / "dest")
    monkeypatch.setattr(_fetch, "MAX_UNPACKED_BYTES", 999)
    with pytest.raises(UnsafeArchiveError, match="1000 bytes"):
        safe_extract_zip(tmp_path / "big.zip", tmp_path / "dest")
    assert list((tmp_path / "dest").iterdir()) == []


@pytest.mark.parametrize("kind", ["parent", "absolute"])
def test_download_of_malicious_archive_writes_nothing(server, home, tmp_path, kind):
    base, served = server
    name = malicious_members(tmp_path)[kind]
    archive, files = fake_ml100k_archive()
    evil = zip_bytes({"ml-100k/u.data": files["u.data"], name: b"evil"})
    (served / "ml-100k.zip").write_bytes(evil)
    remote = fake_ml100k_remote(f"{base}/ml-100k.zip", evil, files)  # checksum matches

    with pytest.raises(UnsafeArchiveError, match=name.replace("\\", "\\\\")):
        fetch_dataset(remote, data_home=home)

    assert leftovers(home) == []
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "outside").exists()
    assert not os.path.exists(home.parent / "evil.txt")


def test_archive_lacking_a_file_is_not_installed(server, home):
    base, served = server
    archive, files = fake_ml100k_archive()
    partial = zip_bytes({"ml-100k/u.data": files["u.data"]})
    (served / "ml-100k.zip").write_bytes(partial)
    remote = fake_ml100k_remote(f"{base}/ml-100k.zip", partial, files)
    with pytest.raises(OSError, match="lacks the file 'ml-100k/u.user'"):
        fetch_dataset(remote, data_home=home)
    assert leftovers(home) == []
