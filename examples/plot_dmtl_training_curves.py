"""
Training curves of the DMTL model
=================================

:class:`~sk_grouprec.GroupDMTLRecommender` learns two tasks from one shared
representation: the rating (mean squared error, ``L_rec``) and the group of the user
(cross-entropy, ``L_profile``), with ``L = L_rec + lambda_profile * L_profile``. Its
``history_`` (a skorch ``History``) records every task's loss per epoch, on the training
rows and, with ``early_stopping``, on a held-out validation share. The groups come from a
:class:`~sk_grouprec.KMeansGrouper` placed before the model in a pipeline.
"""

import os

import matplotlib.pyplot as plt
from sklearn.pipeline import Pipeline

from sk_grouprec import GroupDMTLRecommender, KMeansGrouper
from sk_grouprec.datasets import load_movielens_100k

FAST = os.environ.get("SK_GROUPREC_FAST") == "1"  # set when the docs are built
max_epochs = 6 if FAST else 20

X, y = load_movielens_100k(return_X_y=True)
pipe = Pipeline([
    ("grouper", KMeansGrouper(n_groups=20, random_state=0)),
    # early_stopping=<patience> holds out validation_fraction of the rows and records the
    # validation losses; a patience of max_epochs never stops before the end
    ("dmtl", GroupDMTLRecommender(lambda_profile=0.5, max_epochs=max_epochs,
                                  early_stopping=max_epochs, random_state=0)),
])
pipe.fit(X, y)
history = pipe["dmtl"].history_
print("recorded per epoch:", sorted(k for k in history[-1] if k.endswith("_loss")))

# %%
# Each task's loss per epoch
# --------------------------
# The rating loss is a mean squared error on the 1-5 scale (its square root is the RMSE).
# The profiling loss is a cross-entropy over 20 groups: ``log(20) = 3.0`` for a model that
# knows nothing about the groups. Groups formed by k-means on the user features are a
# function of those features, which the model sees, so profiling them is learnt within the
# first epoch.

epochs = history[:, "epoch"]
fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
for ax, task, title in zip(axes, ["rec", "profile", None],
                           ["rating (MSE)", "profiling (cross-entropy)", "total loss"]):
    train = f"train_{task}_loss" if task else "train_loss"
    valid = f"valid_{task}_loss" if task else "valid_loss"
    ax.plot(epochs, history[:, train], "o-", label="train")
    ax.plot(epochs, history[:, valid], "s--", label="validation")
    ax.set_title(title)
    ax.set_xlabel("epoch")
axes[0].legend()
fig.suptitle("GroupDMTLRecommender on MovieLens 100K, lambda_profile=0.5")
fig.tight_layout()
plt.show()

# %%
# The training losses are averaged over the mini-batches of an epoch while the weights
# change, so early in training they sit above the validation losses, which are computed
# at the end of the epoch. Set ``verbose=1`` to print the same numbers while training.
