"""The benchmark script keeps working: a tiny synthetic run end to end."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]


def run_benchmark(tmp_path, *args):
    command = [sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", "--output", str(tmp_path), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_benchmark_runs_on_tiny_synthetic_data(tmp_path):
    stdout = run_benchmark(
        tmp_path, "--dataset", "synthetic", "--size", "3000", "--models", "DMTL,BaselineOnly,KNNBasic", "--folds", "2"
    )
    assert "| DMTL |" in stdout and "| BaselineOnly |" in stdout
    folds = pd.read_csv(tmp_path / "folds.csv")
    assert set(folds["model"]) == {"DMTL", "BaselineOnly", "KNNBasic", "Profiling baseline (LogReg)"}
    assert (folds.groupby("model")["fold"].nunique() == 2).all()
    rated = folds[folds["model"] != "Profiling baseline (LogReg)"]
    assert rated["rmse"].between(0, 4).all()
    assert rated[["precision@10", "recall@10", "ndcg@10"]].stack().between(0, 1).all()
    assert folds.loc[folds["model"] == "DMTL", "profile_f1"].notna().all()
    record = json.loads((tmp_path / "folds.json").read_text())
    assert record["environment"]["command"].startswith("python")
    for picture in ("metrics.png", "dmtl_training_curves.png", "group_profiles_tsne.png"):
        assert (tmp_path / picture).stat().st_size > 1000


def test_unknown_model_is_rejected(tmp_path):
    command = [sys.executable, str(REPO / "benchmarks" / "run.py"), "--models", "SVDppp", "--output", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "unknown model 'SVDppp'" in done.stderr
