"""Side-by-side benchmark of sk_grouprec's baselines against Surprise on MovieLens 100K.

Both libraries run each model with default parameters on the same folds:
``sklearn.model_selection.KFold(n_splits=5, shuffle=True, random_state=0)`` over the rows of
``ml-100k/u.data``. Recorded per model and library: mean and standard deviation over folds of
RMSE and MAE, fit and predict seconds per fold, and the speed-up (Surprise's fit+predict time
over ours). Models whose class has a ``random_state`` parameter get ``--seed`` in both
libraries (it selects the random draw, not the model).

Results accumulate in a JSON file next to ``--output`` (``BASELINES.json`` for
``BASELINES.md``), keyed by model, so separate runs for different model families share one
table; the markdown file is regenerated from it after every run.

Usage::

    python benchmarks/compare_surprise.py --models SVDpp,SVD --folds 1
    python benchmarks/compare_surprise.py            # every available model, 5 folds
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import platform
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

ISSUE_MODELS = (
    "NormalPredictor",
    "BaselineOnly",
    "SVD",
    "SVDpp",
    "NMF",
    "KNNBasic",
    "KNNWithMeans",
    "KNNWithZScore",
    "KNNBaseline",
    "SlopeOne",
    "CoClustering",
)
MODULES = ("bias", "matrix_factorization", "knn", "slope_one", "co_clustering")
REPO = Path(__file__).resolve().parents[1]


def available_models():
    """Map class name -> class for every issue-3 model that exists in sk_grouprec.baselines."""
    found = {}
    for module_name in MODULES:
        try:
            module = importlib.import_module(f"sk_grouprec.baselines.{module_name}")
        except ModuleNotFoundError:
            continue
        for name in ISSUE_MODELS:
            if hasattr(module, name):
                found[name] = getattr(module, name)
    return found


def load_ratings(data_home):
    """MovieLens 100K ratings as a DataFrame (user_id, item_id, rating)."""
    try:
        from sk_grouprec.datasets._movielens import load_movielens_100k
    except ImportError:
        load_movielens_100k = None
    if load_movielens_100k is not None:
        try:
            data = load_movielens_100k(data_home=data_home)
            frame = getattr(data, "frame", None)
            if frame is not None and {"user_id", "item_id", "rating"} <= set(frame.columns):
                return frame[["user_id", "item_id", "rating"]].reset_index(drop=True)
        except Exception as exc:  # fall back to the raw file below
            print(f"(loader failed: {exc}; reading u.data directly)", file=sys.stderr)
    path = Path(data_home) / "ml-100k" / "u.data"
    if not path.is_file():
        raise SystemExit(f"MovieLens 100K not found at {path}; set SK_GROUPREC_DATA or --data-home.")
    return pd.read_csv(path, sep="\t", names=["user_id", "item_id", "rating", "timestamp"])[
        ["user_id", "item_id", "rating"]
    ]


def import_surprise():
    try:
        import surprise
    except ImportError as exc:
        raise SystemExit(
            "Surprise is not installed; install the benchmark extras with "
            "`pip install -e .[bench]` or run with --no-surprise."
        ) from exc
    return surprise


def metrics(pred, truth):
    err = pred - truth
    return float(np.sqrt(np.mean(err**2))), float(np.mean(np.abs(err)))


def run_ours(cls, train, test, seed):
    params = {"random_state": seed} if "random_state" in cls().get_params() else {}
    est = cls(**params)
    cols = ["user_id", "item_id"]
    start = time.perf_counter()
    est.fit(train[cols], train["rating"].to_numpy())
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = est.predict(test[cols])
    predict_s = time.perf_counter() - start
    return pred, fit_s, predict_s


def run_surprise(surprise, name, train, test, seed):
    cls = getattr(surprise, name)
    import inspect

    params = {"random_state": seed} if "random_state" in inspect.signature(cls).parameters else {}
    np.random.seed(seed)  # noqa: NPY002 - Surprise's NormalPredictor uses the global generator
    algo = cls(**params)
    reader = surprise.Reader(rating_scale=(train["rating"].min(), train["rating"].max()))
    # Surprise's data preparation is left out of its fit time (ours includes validation and
    # id indexing), so the speed-up is a conservative one.
    trainset = surprise.Dataset.load_from_df(train[["user_id", "item_id", "rating"]], reader).build_full_trainset()
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # default verbose=True prints progress
        algo.fit(trainset)
    fit_s = time.perf_counter() - start
    testset = list(zip(test["user_id"], test["item_id"], test["rating"]))
    start = time.perf_counter()
    pred = np.array([p.est for p in algo.test(testset)])
    predict_s = time.perf_counter() - start
    return pred, fit_s, predict_s


def summarise(rows):
    table = pd.DataFrame(rows)
    out = {}
    for key in ("rmse", "mae", "fit_s", "predict_s"):
        out[key] = float(table[key].mean())
        out[key + "_std"] = float(table[key].std(ddof=0))
    out["n_folds"] = len(rows)
    return out


def machine_info():
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "pandas", "sklearn", "torch", "surprise", "sk_grouprec"):
        with contextlib.suppress(Exception):
            versions[name] = importlib.import_module(name).__version__
    return {"nproc": os.cpu_count(), "cpu": cpu, "versions": versions}


def load_average():
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "unknown"


def render_markdown(store):
    lines = [
        "# Baselines: sk_grouprec vs Surprise on MovieLens 100K",
        "",
        "Generated by `benchmarks/compare_surprise.py` (do not edit by hand: edit the script or "
        "re-run it). Folds: `KFold(n_splits=5, shuffle=True, random_state=0)` over the rows of "
        "`ml-100k/u.data`, the same folds for every model and both libraries; default parameters "
        "in both libraries (with `random_state=--seed` where the class has one). Times are "
        "wall-clock seconds per fold on a shared machine and are noisy; Surprise's fit time "
        "leaves out building its `Trainset` while ours includes validation and id indexing. "
        "Speed-up: Surprise's (fit + predict) time divided by ours; ΔRMSE: ours minus "
        "Surprise's mean RMSE.",
        "",
        "| model | library | RMSE | MAE | fit s/fold | predict s/fold | speed-up | ΔRMSE | folds | run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in [m for m in ISSUE_MODELS if m in store["models"]] + sorted(
        m for m in store["models"] if m not in ISSUE_MODELS
    ):
        entry = store["models"][name]
        ours, theirs = entry.get("sk_grouprec"), entry.get("surprise")
        speed = delta = ""
        if ours and theirs:
            speed = f"{(theirs['fit_s'] + theirs['predict_s']) / (ours['fit_s'] + ours['predict_s']):.1f}x"
            delta = f"{ours['rmse'] - theirs['rmse']:+.4f}"
        for library, res in (("sk_grouprec", ours), ("Surprise", theirs)):
            if not res:
                continue
            lines.append(
                f"| {name} | {library} | {res['rmse']:.4f} ± {res['rmse_std']:.4f} | "
                f"{res['mae']:.4f} ± {res['mae_std']:.4f} | {res['fit_s']:.2f} ± {res['fit_s_std']:.2f} | "
                f"{res['predict_s']:.2f} | {speed if library == 'sk_grouprec' else ''} | "
                f"{delta if library == 'sk_grouprec' else ''} | "
                f"{res['n_folds']} | {entry['run']} |"
            )
    lines += ["", "## Runs", ""]
    for run_id, run in sorted(store["runs"].items()):
        versions = ", ".join(f"{k} {v}" for k, v in run["machine"]["versions"].items())
        lines += [
            f"- **{run_id}** ({run['date']}): `{run['command']}`",
            f"  - models: {', '.join(run['models'])}; folds: {run['folds']}",
            f"  - machine: {run['machine']['nproc']} CPUs, {run['machine']['cpu']}; "
            f"load average (1, 5, 15 min) before: {run['load_before']}, after: {run['load_after']}",
            f"  - versions: {versions}",
        ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=None, help="comma-separated class names (default: all available)")
    parser.add_argument("--folds", type=int, default=5, help="run only the first N of the 5 folds")
    parser.add_argument("--no-surprise", action="store_true", help="skip Surprise")
    parser.add_argument("--data-home", default=os.environ.get("SK_GROUPREC_DATA", str(REPO.parent / "shared" / "data")))
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "BASELINES.md"))
    parser.add_argument("--seed", type=int, default=0, help="random_state for models that have one")
    args = parser.parse_args(argv)

    available = available_models()
    names = list(available) if args.models is None else [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in available]
    if unknown:
        raise SystemExit(f"unknown or unavailable model(s) {unknown}; available: {sorted(available)}")
    if not 1 <= args.folds <= 5:
        raise SystemExit("--folds must be between 1 and 5")
    surprise = None if args.no_surprise else import_surprise()

    ratings = load_ratings(args.data_home)
    folds = list(KFold(n_splits=5, shuffle=True, random_state=0).split(ratings))[: args.folds]
    load_before = load_average()
    results = {}
    for name in names:
        results[name] = {}
        libraries = [("sk_grouprec", None)] + ([("surprise", surprise)] if surprise else [])
        for library, module in libraries:
            rows = []
            for k, (train_idx, test_idx) in enumerate(folds):
                train, test = ratings.iloc[train_idx], ratings.iloc[test_idx]
                if module is None:
                    pred, fit_s, predict_s = run_ours(available[name], train, test, args.seed)
                else:
                    pred, fit_s, predict_s = run_surprise(module, name, train, test, args.seed)
                rmse, mae = metrics(pred, test["rating"].to_numpy(dtype=float))
                rows.append({"rmse": rmse, "mae": mae, "fit_s": fit_s, "predict_s": predict_s})
                print(f"{name:16s} {library:12s} fold {k}: RMSE {rmse:.4f} MAE {mae:.4f} "
                      f"fit {fit_s:.2f}s predict {predict_s:.2f}s", flush=True)
            results[name][library] = summarise(rows)

    now = datetime.now(timezone.utc)
    run_id = now.strftime("%Y%m%dT%H%M%SZ")
    run = {
        "date": now.isoformat(timespec="seconds"),
        "command": "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
        "models": names,
        "folds": args.folds,
        "machine": machine_info(),
        "load_before": load_before,
        "load_after": load_average(),
    }
    output = Path(args.output)
    store_path = output.with_suffix(".json")
    store = {"models": {}, "runs": {}}
    if store_path.is_file():
        store = json.loads(store_path.read_text())
    store["runs"][run_id] = run
    for name, res in results.items():
        store["models"][name] = {"run": run_id, **res}
    used = {entry["run"] for entry in store["models"].values()}
    store["runs"] = {k: v for k, v in store["runs"].items() if k in used}
    output.parent.mkdir(parents=True, exist_ok=True)
    store_path.write_text(json.dumps(store, indent=1, sort_keys=True) + "\n")
    markdown = render_markdown(store)
    output.write_text(markdown)
    print()
    print(markdown)


if __name__ == "__main__":
    main()
