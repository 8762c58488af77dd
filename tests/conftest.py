import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_home():
    env = os.environ.get("SK_GROUPREC_DATA")
    if env:
        return Path(env)
    candidate = REPO.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def data_home():
    """Folder holding ml-100k/ and itm-rec/ (SK_GROUPREC_DATA or ../shared/data).

    Outside CI the real-data tests skip when the folder is absent; in CI they fail.
    """
    home = _data_home()
    if home is None or not (home / "ml-100k").is_dir():
        if os.environ.get("CI"):
            pytest.fail("CI needs the real datasets: set SK_GROUPREC_DATA to ../shared/data")
        pytest.skip("real datasets not found (set SK_GROUPREC_DATA)")
    return home
