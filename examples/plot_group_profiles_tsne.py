"""
Group profiles: a t-SNE map of the shared representation
========================================================

The DMTL model's shared layer ``z_g = ReLU(W_z [h_u ; h_ai] + b_z)`` feeds both heads: the
rating head and the profiling head, which tells which group an interaction's user belongs
to. :meth:`~sk_grouprec.GroupDMTLRecommender.group_profile` returns ``z_g`` for any
interactions, :meth:`~sk_grouprec.GroupDMTLRecommender.predict_profile` the group
probabilities. A t-SNE map of ``z_g`` coloured by the user's k-means group shows how much
group structure the shared representation holds, and how ``lambda_profile`` (the weight of
the profiling loss) changes it.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.manifold import TSNE

from sk_grouprec import GroupDMTLRecommender, KMeansGrouper
from sk_grouprec.datasets import load_movielens_100k
from sk_grouprec.metrics import profiling_scores

FAST = os.environ.get("SK_GROUPREC_FAST") == "1"  # set when the docs are built
max_epochs = 4 if FAST else 15

X, y = load_movielens_100k(return_X_y=True)
if FAST:  # a random half of the ratings
    keep = X.sample(frac=0.5, random_state=0).index
    X, y = X.loc[keep], y.loc[keep]
X = KMeansGrouper(n_groups=20, random_state=0).fit_transform(X)

# one interaction per user (its first rating) for the map
sample = X.drop_duplicates("user_id")

fig, axes = plt.subplots(1, 2, figsize=(11, 5))
for ax, lambda_profile in zip(axes, [0.0, 1.0]):
    model = GroupDMTLRecommender(lambda_profile=lambda_profile, max_epochs=max_epochs,
                                 random_state=0).fit(X, y)
    z = model.group_profile(sample)
    xy = TSNE(n_components=2, init="pca", perplexity=30, random_state=0).fit_transform(z)
    ax.scatter(xy[:, 0], xy[:, 1], c=sample["group_id"], cmap="tab20", s=8)
    title = f"lambda_profile={lambda_profile}"
    if lambda_profile > 0:
        predicted = model.groups_[np.argmax(model.predict_profile(sample), axis=1)]
        f1 = profiling_scores(sample["group_id"], predicted).f1
        title += f", profiling macro F1={f1:.2f}"
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("t-SNE of the group profiles z_g, one interaction per user, colour = group")
fig.tight_layout()
plt.show()

# %%
# With ``lambda_profile=0`` the profiling head receives no gradient and ``z_g`` only
# serves the rating: users of a group are scattered. With the profiling task switched on,
# ``z_g`` must also encode the group, and interactions of one group gather. Model
# selection of ``lambda_profile`` trades rating accuracy against this (see the user
# guide's page on hyper-parameter search).
