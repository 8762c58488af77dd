"""The benchmark keeps working: its entry points end to end on tiny data, and the pieces
(scale rules, ratios, recorded commands, RESULTS.md sections) on hand-made inputs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import record_results  # noqa: E402
from grouprec_bench import report, scale  # noqa: E402


def run_benchmark(tmp_path, *args):
    command = [sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", "--output", str(tmp_path), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
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
    assert record["environment"]["command"].startswith("python benchmarks/run.py --quick")
    assert "load average" in record["environment"]["machine"]
    assert "wall time" in record["environment"]
    report_text = (tmp_path / "report.md").read_text()
    assert f" {tmp_path}" not in report_text and f"={tmp_path}" not in report_text
    for picture in ("metrics.png", "dmtl_training_curves.png", "group_profiles_tsne.png"):
        assert (tmp_path / picture).stat().st_size > 1000


@pytest.mark.slow
def test_scale_benchmark_runs_each_fit_in_its_own_process(tmp_path):
    stdout = run_benchmark(tmp_path, "--dataset", "scale", "--models", "DMTL", "--sizes", "2000,4000")
    table = pd.read_csv(tmp_path / "scale.csv", keep_default_na=False)
    assert list(zip(table["model"], table["n_ratings"])) == [("DMTL", 2000), ("DMTL", 4000)]
    assert (table["error"] == "").all()
    assert (table["epochs"] == 2).all()  # --quick; epoch times from the skorch history
    assert (table["fit_time"] > table["epochs"] * table["epoch_time"]).all()  # + KMeans, encoding
    assert np.allclose(table["ratings_per_s"], table["n_ratings"] / table["epoch_time"])
    # a fresh process holds the interpreter, torch and the data: tens of MiB at least
    assert (table["peak_memory_mib"] > 50).all() and (table["fit_memory_mib"] >= 0).all()
    assert table["per_rating_vs_smallest"].iloc[0] == 1.0
    assert "log-log slope of fit time" in stdout and "| DMTL | 4,000 |" in stdout
    assert (tmp_path / "fit_time.png").stat().st_size > 1000


def test_unknown_model_is_rejected():
    import run

    with pytest.raises(ValueError, match="unknown model 'SVDppp'"):
        run.parse_args(["--models", "SVDppp"])


def test_scale_data_follows_the_size_rule():
    assert scale.grid(100_000) == (1_000, 200)
    assert scale.grid(1_000_000) == (10_000, 2_000)
    assert scale.grid(5_000_000) == (50_000, 10_000)
    for n in (2_000, 20_000):  # small sizes: the grid is at most half full
        users, items = scale.grid(n)
        assert users * items >= 2 * n


def test_surprise_runs_only_at_its_sizes():
    pairs = scale.plan([100, 200, 300], ["DMTL", "SVDpp"], {200, 999})
    assert pairs == [("DMTL", 100), ("SVDpp", 100), ("DMTL", 200), ("SVDpp", 200),
                     ("Surprise:SVDpp", 200), ("DMTL", 300), ("SVDpp", 300)]
    assert ("Surprise:SVDpp", 200) not in scale.plan([200], ["DMTL"], {200})


def test_ratios_and_slopes_of_the_scale_table():
    table = pd.DataFrame({
        "model": ["A", "A", "A", "B", "B"],
        "n_ratings": [100, 1_000, 10_000, 100, 1_000],
        "fit_time": [1.0, 10.0, 100.0, 1.0, 100.0],  # A linear, B quadratic
        "epoch_time": [0.1, 1.0, 10.0, 0.1, 10.0],
        "error": [""] * 5,
    })
    out = scale.add_ratios(table)
    assert np.allclose(out["per_rating_vs_smallest"], [1, 1, 1, 1, 10])
    assert np.isnan(out["fit_time_slope"].iloc[0])
    assert np.allclose(out["fit_time_slope"].iloc[[1, 2, 4]], [1, 1, 2])


def test_measure_reports_time_epochs_and_memory_in_process():
    row = scale.measure("SVDpp", 2_000, seed=0, quick=True)
    assert row["error"] == "" and row["n_ratings"] == 2_000
    assert row["epochs"] == 2 and row["epoch_time"] == pytest.approx(row["fit_time"] / 2)
    assert row["peak_memory_mib"] > 0 and row["fit_memory_mib"] >= 0


def test_surprise_svdpp_is_measured_like_ours():
    pytest.importorskip("surprise")
    row = scale.measure("Surprise:SVDpp", 2_000, seed=0, quick=True)
    assert row["error"] == "" and row["epochs"] == 2 and row["fit_time"] > 0


def test_recorded_commands_name_no_absolute_path():
    inside = str(REPO / "benchmarks" / "output" / "x")
    command = report.relative_command([str(REPO / "benchmarks" / "run.py"), "--output", inside,
                                       f"--data-home={os.sep}elsewhere{os.sep}data"])
    assert command.startswith("python benchmarks/run.py --output benchmarks/output/x --data-home=")
    assert str(REPO) not in command and f" {os.sep}" not in command and f"={os.sep}" not in command


def test_recording_one_section_keeps_the_others(tmp_path):
    results = tmp_path / "RESULTS.md"
    record_results.write_results(results, {"itm-rec": "## B\nold b\n", "mafengwo": "## X\nx\n",
                                           "ml-100k": "## A\na\n"})
    blocks = record_results.read_blocks(results)
    assert list(blocks) == ["ml-100k", "itm-rec", "mafengwo"]  # registry order, unknown last
    blocks["itm-rec"] = "## B\nnew b\n"
    record_results.write_results(results, blocks)
    text = results.read_text()
    assert text.startswith(record_results.INTRO)
    assert "new b" in text and "old b" not in text and "\na\n" in text and "\nx\n" in text
    assert record_results.read_blocks(results)["mafengwo"].strip() == "## X\nx"


def test_every_section_runs_a_known_dataset():
    import run

    for name, section in record_results.SECTIONS.items():
        args = run.parse_args(list(section.arguments))
        assert args.dataset in run.DATASETS, name
        assert record_results.run_command(name)[-1] == f"benchmarks/output/{name}"


def test_record_results_refuses_an_unknown_section(capsys):
    with pytest.raises(SystemExit):
        record_results.main(["--section", "nope"])
    assert "unknown: nope" in capsys.readouterr().err


def test_recording_a_section_replaces_its_figures_only(tmp_path, monkeypatch):
    figures, output = tmp_path / "figures", tmp_path / "output"
    figures.mkdir()
    output.mkdir()
    (figures / "itm-rec-metrics.png").write_bytes(b"old")
    (figures / "itm-rec-dmtl_training_curves.png").write_bytes(b"stale")
    (figures / "itm-rec-ablation-metrics.png").write_bytes(b"other section")
    (output / "metrics.png").write_bytes(b"new")
    (output / "hr_at_k.png").write_bytes(b"a new kind of picture")
    monkeypatch.setattr(record_results, "FIGURES", figures)
    old_block = ("![a](figures/itm-rec-metrics.png)\n"
                 "![b](figures/itm-rec-dmtl_training_curves.png)\n")
    links = record_results.copy_figures("itm-rec", output, old_block)
    assert links == ["\n![itm-rec metrics.png](figures/itm-rec-metrics.png)\n",
                     "\n![itm-rec hr_at_k.png](figures/itm-rec-hr_at_k.png)\n"]
    assert (figures / "itm-rec-metrics.png").read_bytes() == b"new"
    assert not (figures / "itm-rec-dmtl_training_curves.png").exists()
    assert (figures / "itm-rec-ablation-metrics.png").read_bytes() == b"other section"


@pytest.mark.realdata
def test_mafengwo_validation_split_uses_train_files_only(data_home):
    from grouprec_bench import mafengwo

    data, u_train, u_held, u_neg, g_train, g_held, g_neg = mafengwo.validation_split(data_home)
    users = data.user_interactions
    assert len(u_train) + len(u_held) == len(users)
    assert len(u_held) == (users.groupby("user_id").size() >= 2).sum()  # one per such user
    assert not u_held["user_id"].duplicated().any()
    assert len(g_train) + len(g_held) == len(data.group_interactions)
    assert u_neg.shape == (len(u_held), 100) and g_neg.shape == (len(g_held), 100)
    # nothing of the test files: the held-out rows are train rows
    assert len(u_held.merge(users[["user_id", "item_id"]])) >= len(u_held)
    test_pairs = set(zip(data.user_test["user_id"], data.user_test["item_id"]))
    assert not test_pairs & set(zip(u_held["user_id"], u_held["item_id"]))


@pytest.mark.realdata
def test_mafengwo_negatives_validation_table_has_full_columns_and_a_mean_row(data_home):
    from grouprec_bench import mafengwo

    tiny = {"one epoch": {"max_epochs": 1, "embedding_size": 4, "hidden_size": 4},
            "one epoch, T=1": {"max_epochs": 1, "embedding_size": 4, "hidden_size": 4,
                               "negative_temperature": 1.0}}
    table = mafengwo.negatives_validation_table(data_home, seeds=(0, 1), settings=tiny)
    assert table["split seed"].tolist() == ["0", "0", "1", "1", "mean", "mean"]
    for column in ("user ndcg@5", "group hr@10", "user full ndcg@10", "group full recall@10"):
        values = table[column].to_numpy()
        assert ((values >= 0) & (values <= 1)).all(), column
        np.testing.assert_allclose(values[4:], (values[0:2] + values[2:4]) / 2)


def write_random_group_folder(path, seed=0, n_users=40, n_items=30, n_groups=8):
    """A small folder in the AGREE/ConsRec layout: random memberships and interactions, one
    test line per user and group with 20 negatives (drawn with replacement, the test item
    sometimes among them, as in the published files), a rating third column in the user files."""
    rng = np.random.default_rng(seed)
    path.mkdir()
    members = [rng.choice(n_users, rng.integers(2, 6), replace=False) for _ in range(n_groups)]
    (path / "groupMember.txt").write_text(
        "".join(f"{g} {','.join(map(str, m))}\n" for g, m in enumerate(members)))
    for level, n_rows, rated in (("group", n_groups, False), ("user", n_users, True)):
        train, test, negatives = [], [], []
        for row in range(n_rows):
            items = rng.choice(n_items, 6, replace=False)
            train += [f"{row} {i}" + (f" {rng.integers(1, 6)}" if rated else "") for i in items[:5]]
            test.append(f"{row} {items[5]}" + (" 5" if rated else ""))
            negatives.append(f"({row},{items[5]}) " + " ".join(map(str, rng.integers(0, n_items, 20))))
        for part, lines in (("Train", train), ("Test", test), ("Negative", negatives)):
            (path / f"{level}Rating{part}.txt").write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_group_folder_benchmark_runs_the_mafengwo_table_on_any_folder(tmp_path):
    folder = write_random_group_folder(tmp_path / "household")
    stdout = run_benchmark(tmp_path / "out", "--dataset", "group-folder", "--folder", str(folder))
    assert "### household: top-N for real groups from implicit feedback" in stdout
    table = pd.read_csv(tmp_path / "out" / "mafengwo.csv")
    assert not table["model"].str.contains("published").any()  # Mafengwo's rows only
    dmtl = table[table["model"] == "GroupDMTLRecommender(objective='bpr')"]
    assert sorted(dmtl["level"]) == ["group", "user"]
    metrics = table[["hr@5", "ndcg@5", "hr@10", "ndcg@10", "full recall@10", "full ndcg@10"]]
    assert metrics.stack().between(0, 1).all() and not metrics.isna().any().any()
    report_text = (tmp_path / "out" / "report.md").read_text()
    assert "Folder `household`" in report_text and f" {tmp_path}" not in report_text
    assert "Published rows" not in report_text  # the Mafengwo-only remarks are left out
    assert "validation split of Mafengwo's train files" in report_text
    assert (tmp_path / "out" / "hr_at_k.png").stat().st_size > 1000


def test_folder_option_goes_with_the_group_folder_dataset_only():
    import run

    with pytest.raises(SystemExit):
        run.parse_args(["--dataset", "group-folder"])
    with pytest.raises(SystemExit):
        run.parse_args(["--dataset", "mafengwo", "--folder", "somewhere"])
    assert run.parse_args(["--dataset", "group-folder", "--folder", "x"]).folder == "x"


def test_dropout_validation_compares_the_default_with_no_dropout_on_any_folder(tmp_path):
    folder = write_random_group_folder(tmp_path / "household")
    stdout = run_benchmark(tmp_path / "out", "--dataset", "group-folder", "--folder", str(folder),
                           "--dropout-validation", "--split-seeds", "0,1")
    assert "### household: DMTL's dropout on validation splits" in stdout
    table = pd.read_csv(tmp_path / "out" / "dropout_validation.csv", dtype={"split seed": str})
    assert table["split seed"].tolist() == ["0", "0", "1", "1", "mean", "mean"]
    assert table["model"].str.contains("dropout=None: 0.5").sum() == 3
    assert table["model"].str.contains("dropout=0.0").sum() == 3
    np.testing.assert_allclose(table["group ndcg@5"].to_numpy()[4:],
                               table["group ndcg@5"].to_numpy()[[0, 1]] / 2
                               + table["group ndcg@5"].to_numpy()[[2, 3]] / 2)
