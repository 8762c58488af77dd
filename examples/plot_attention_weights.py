"""
Attention weights of one recommendation
=======================================

In the DMTL model the item representation is re-weighted by attention conditioned on the
user: ``a = softmax(W_a [h_u ; h_i] + b_a)`` over the ``hidden_size`` dimensions of
``h_i``, and ``h_ai = H * a * h_i`` enters the shared layer. For a user's top
recommendation, :meth:`~sk_grouprec.GroupDMTLRecommender.attention_weights` shows which
item dimensions the model attends to, and how that differs for another user offered the
same item.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from sk_grouprec import GroupDMTLRecommender, KMeansGrouper
from sk_grouprec.datasets import load_movielens_100k

FAST = os.environ.get("SK_GROUPREC_FAST") == "1"  # set when the docs are built
max_epochs = 5 if FAST else 15

bunch = load_movielens_100k()
X, y = bunch.data, bunch.target
pipe = Pipeline([("grouper", KMeansGrouper(n_groups=20, random_state=0)),
                 ("dmtl", GroupDMTLRecommender(max_epochs=max_epochs, random_state=0))])
pipe.fit(X, y)
model = pipe["dmtl"]

top = model.recommend([1], n_items=1)
item = top["item_id"].iloc[0]
print(top)
print("title:", bunch.item_table.loc[item, "title"])

# %%
# The attention of users 1 and 2 on that item
# -------------------------------------------
# ``attention_weights`` takes interactions like ``predict``; a known user's features
# come from the fitted model, so ``user_id`` and ``item_id`` are enough here. Each row of
# weights sums to 1; uniform attention would be ``1 / hidden_size``.

pairs = pd.DataFrame({"user_id": [1, 2], "item_id": [item, item]})
weights = model.attention_weights(pairs)
print("rows sum to", weights.sum(axis=1).round(6), "; predicted ratings:",
      model.predict(pairs).round(2))

dims = np.arange(weights.shape[1])
fig, ax = plt.subplots(figsize=(9, 3.2))
ax.bar(dims - 0.2, weights[0], width=0.4, label="user 1")
ax.bar(dims + 0.2, weights[1], width=0.4, label="user 2")
ax.axhline(1 / weights.shape[1], color="grey", lw=1, ls="--", label="uniform")
ax.set_xlabel("dimension of the item representation h_i")
ax.set_ylabel("attention weight a")
ax.set_title(f"Attention on item {item} ({bunch.item_table.loc[item, 'title']})")
ax.legend()
fig.tight_layout()

# %%
# Across a user's recommendations
# -------------------------------
# The same for the user's ten best items: each row is one recommended item.

top10 = model.recommend([1], n_items=10)
weights10 = model.attention_weights(top10[["user_id", "item_id"]])
fig, ax = plt.subplots(figsize=(9, 3.6))
image = ax.imshow(weights10, aspect="auto", cmap="viridis")
ax.set_yticks(np.arange(len(top10)),
              [bunch.item_table.loc[i, "title"][:30] for i in top10["item_id"]])
ax.set_xlabel("dimension of h_i")
fig.colorbar(image, ax=ax, label="a")
ax.set_title("User 1: attention over the item dimensions of the top 10 items")
fig.tight_layout()
plt.show()
