"""
Baselines and the DMTL model on one MovieLens fold
==================================================

Every estimator of :mod:`sk_grouprec.baselines` has Surprise's name and defaults, and all
of them, like :class:`~sk_grouprec.GroupDMTLRecommender`, read the same ``X`` and fit in a
few seconds on MovieLens 100K. This example trains each on the canonical split ``u1``
(80% / 20%) and compares RMSE and Precision@10 (Surprise's FAQ definition, threshold 3.5:
see :ref:`metrics`). It is one fold, not the benchmark: ``benchmarks/run.py`` runs the
5-fold protocol and writes the tables of ``benchmarks/RESULTS.md``.
"""

import os
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.pipeline import make_pipeline

from sk_grouprec import GroupDMTLRecommender, KMeansGrouper, baselines
from sk_grouprec.datasets import load_movielens_100k_split
from sk_grouprec.metrics import precision_recall_at_k, rmse

FAST = os.environ.get("SK_GROUPREC_FAST") == "1"  # set when the docs are built

X_train, X_test, y_train, y_test = load_movielens_100k_split("u1")
models = {
    "NormalPredictor": baselines.NormalPredictor(random_state=0),
    "BaselineOnly": baselines.BaselineOnly(),
    "SlopeOne": baselines.SlopeOne(),
    "CoClustering": baselines.CoClustering(random_state=0),
    "KNNBasic": baselines.KNNBasic(),
    "KNNWithMeans": baselines.KNNWithMeans(),
    "KNNBaseline": baselines.KNNBaseline(),
    "NMF": baselines.NMF(random_state=0),
    "SVD": baselines.SVD(random_state=0),
    "SVDpp": baselines.SVDpp(random_state=0),
    "DMTL": make_pipeline(KMeansGrouper(n_groups=20, random_state=0),
                          GroupDMTLRecommender(max_epochs=5 if FAST else 15, random_state=0)),
}

rows = []
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    y_pred = model.predict(X_test)
    precision, recall = precision_recall_at_k(X_test["user_id"], y_test, y_pred, k=10)
    rows.append({"model": name, "RMSE": rmse(y_test, y_pred), "P@10": precision,
                 "R@10": recall, "seconds": time.perf_counter() - start})
results = pd.DataFrame(rows).set_index("model")
print(results.round(4).to_string())

# %%
# Lower RMSE is better, higher Precision@10 is better. The DMTL model trains for 5 epochs
# when the documentation is built (15 by default), so its numbers here understate it.
# ``NormalPredictor`` (random ratings) anchors both scales.

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
order = results.sort_values("RMSE", ascending=False).index
positions = np.arange(len(order))
colors = ["tab:red" if m == "DMTL" else "tab:blue" for m in order]
axes[0].barh(positions, results.loc[order, "RMSE"], color=colors)
axes[0].set_xlim(0.85, results["RMSE"].max() + 0.02)
axes[0].set_xlabel("RMSE (lower is better)")
axes[1].barh(positions, results.loc[order, "P@10"], color=colors)
axes[1].set_xlabel("Precision@10, Surprise FAQ protocol (higher is better)")
axes[0].set_yticks(positions, order)
fig.suptitle("MovieLens 100K, split u1")
fig.tight_layout()
plt.show()
