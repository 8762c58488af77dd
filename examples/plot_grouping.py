"""
Forming groups with KMeansGrouper
=================================

:class:`~sk_grouprec.KMeansGrouper` clusters the *users* of MovieLens 100K (one row per
user, however many ratings they gave) and adds a ``group_id`` column to the ratings. The
DMTL paper's setting is 20 groups on the user features (age, gender, occupation, zip
region). This example shows the sizes of the groups and what their members have in
common, then compares with groups formed from rating behaviour (``cluster_on="ratings"``).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import adjusted_rand_score

from sk_grouprec import KMeansGrouper
from sk_grouprec.datasets import load_movielens_100k

X, y = load_movielens_100k(return_X_y=True)
grouper = KMeansGrouper(n_groups=20, random_state=0).fit(X)
print("features clustered on:", grouper.user_feature_names_)
print("users per group:", grouper.group_sizes_)

# %%
# Who is in each group
# --------------------
# ``user_groups_`` maps every user to its group. Joined with the user table, it shows
# what the members of a group share: k-means on one-hot encoded categories tends to
# gather users of one occupation and gender, with ages close together.

users = load_movielens_100k().user_table
users = users.join(grouper.user_groups_)
summary = users.groupby("group_id").agg(
    size=("user_age", "size"),
    mean_age=("user_age", "mean"),
    share_women=("user_gender", lambda g: float((g == "F").mean())),
    main_occupation=("user_occupation", lambda o: o.value_counts().index[0]),
)
print(summary.round(2).to_string())

fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
order = np.arange(len(summary))
axes[0].barh(order, summary["size"], color="tab:blue")
axes[0].set_xlabel("users")
axes[1].barh(order, summary["mean_age"], color="tab:orange")
axes[1].set_xlabel("mean age")
axes[2].barh(order, summary["share_women"], color="tab:green")
axes[2].set_xlabel("share of women")
axes[0].set_yticks(order, [f"{g}: {o}" for g, o in zip(summary.index, summary["main_occupation"])])
axes[0].invert_yaxis()
fig.suptitle("20 KMeansGrouper groups of MovieLens 100K users (features)")
fig.tight_layout()

# %%
# Groups from ratings instead of features
# ---------------------------------------
# Without demographics, ``cluster_on="ratings"`` describes a user by their mean-centred,
# unit-length rating vector reduced by a truncated SVD. These groups gather users of
# similar taste and have little to do with the demographic ones (adjusted Rand index close
# to 0).

by_taste = KMeansGrouper(n_groups=20, cluster_on="ratings", random_state=0).fit(X, y)
ari = adjusted_rand_score(grouper.labels_, by_taste.user_groups_.loc[grouper.user_ids_])
print(f"adjusted Rand index, features vs ratings: {ari:.3f}")

fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(np.arange(20) - 0.2, np.sort(grouper.group_sizes_)[::-1], width=0.4, label="features")
ax.bar(np.arange(20) + 0.2, np.sort(by_taste.group_sizes_)[::-1], width=0.4, label="ratings")
ax.set_xlabel("group (largest first)")
ax.set_ylabel("users")
ax.legend()
fig.tight_layout()

# %%
# Users unseen in ``fit`` join the nearest centre (features) or the largest group
# (ratings); ``transform`` never fails on them.

known = X.iloc[[0]]
new_user = known.assign(user_id=10_000)  # a new id with the features of a known user
print(f"user {known['user_id'].iloc[0]} is in group {grouper.predict(known)[0]}; "
      f"a new user with the same features joins group {grouper.predict(new_user)[0]}")
plt.show()
