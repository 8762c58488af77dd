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


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tests train tiny networks: one torch thread is faster than two (thread hand-offs cost
    more than they bring) and keeps a shared 2-core machine usable."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
