"""
A travel group's top 5 places, and whose taste is behind them
=============================================================

``GroupDMTLRecommender(objective="bpr")`` learns to rank from implicit feedback: on
Mafengwo, the places travellers visited alone and the places their groups visited together.
For one group, :meth:`~sk_grouprec.GroupDMTLRecommender.recommend_group` gives the top 5
places it has not visited, and
:meth:`~sk_grouprec.GroupDMTLRecommender.member_weights` the weight of each member in the
group's score of each place (the weights of a place sum to 1). See
:ref:`implicit_groups`.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from sk_grouprec import GroupDMTLRecommender
from sk_grouprec.datasets import load_mafengwo

FAST = os.environ.get("SK_GROUPREC_FAST") == "1"  # set when the docs are built
torch.set_num_threads(1)

data = load_mafengwo()
X_users = data.user_interactions[["user_id", "item_id"]]
model = GroupDMTLRecommender(objective="bpr", max_epochs=5 if FAST else None, random_state=0)
model.fit(X_users, None, groups=data.groups, X_group=data.group_interactions)

# a group of four members
sizes = data.groups.groupby("group_id").size()
group = int(sizes[sizes == 4].index[0])
top = model.recommend_group([group], n_items=5)
print(top)

# %%
# The member weights behind each recommended place
# ------------------------------------------------

weights = model.member_weights(top[["group_id", "item_id"]])
table = weights.pivot(index="item_id", columns="user_id", values="weight").loc[top["item_id"]]
print(table.round(3))

fig, ax = plt.subplots(figsize=(8, 3.5))
left = np.zeros(len(table))
for user in table.columns:
    ax.barh([f"place {i}" for i in table.index], table[user], left=left, label=f"user {user}")
    left += table[user].to_numpy()
ax.invert_yaxis()
ax.set_xlabel("member weight (sums to 1 per place)")
ax.set_title(f"Group {group}: top 5 places and the members behind them")
ax.legend(loc="lower right", fontsize="small")
fig.tight_layout()
