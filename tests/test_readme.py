"""The README's Python code runs verbatim, as a new user would run it.

The quickstart block trains the DMTL pipeline on MovieLens 100K (``max_epochs=5`` as
written in the README), so the test is slow and needs the real data.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_python_blocks():
    return re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def test_readme_has_a_python_quickstart():
    blocks = readme_python_blocks()
    assert blocks, "README.md has no ```python block"
    code = "\n".join(blocks)
    for name in ("GroupDMTLRecommender", "KMeansGrouper", "load_movielens_100k", "fit"):
        assert name in code


@pytest.mark.slow
@pytest.mark.realdata
def test_readme_python_blocks_run(data_home, tmp_path):
    script = tmp_path / "readme.py"
    script.write_text("\n".join(readme_python_blocks()), encoding="utf-8")
    # one torch thread: the test box is shared, and two threads are then several times slower
    env = dict(os.environ, SK_GROUPREC_DATA=str(data_home), OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"the README's code fails:\n{result.stderr[-4000:]}"
    rmse = float(re.search(r"^RMSE ([\d.]+)$", result.stdout, re.M).group(1))
    assert 0.85 < rmse < 1.0, result.stdout
    assert "item_id" in result.stdout  # the recommendations were printed
