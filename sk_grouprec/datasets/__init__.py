"""Dataset loaders and the synthetic generator.

- :func:`load_movielens_100k`, :func:`load_movielens_100k_split`: MovieLens 100K with user and
  item features, and its canonical splits;
- :func:`load_itm_rec`: ITM-Rec, students' ratings with context, real groups and their group
  ratings;
- :func:`load_mafengwo`: Mafengwo, real travel groups and the places they visited (implicit
  feedback), with the literature's test cases and sampled negatives;
- :func:`load_group_folder`: any folder in the layout of the group-recommendation
  literature (AGREE, ConsRec: ``groupMember.txt``, ``{user,group}Rating{Train,Test,Negative}.txt``);
- :func:`make_group_ratings`: synthetic ratings with a planted group structure.

Files are looked up in ``data_home``, then ``$SK_GROUPREC_DATA``, then ``~/sk_grouprec_data``
(:func:`get_data_home`), and downloaded there with a checksum check when missing (Mafengwo,
which has no registered download address, is placed there by hand).
"""

from ._fetch import ChecksumError, UnsafeArchiveError, clear_data_home, get_data_home
from ._group_folder import load_group_folder
from ._itm_rec import load_itm_rec
from ._mafengwo import load_mafengwo
from ._movielens import load_movielens_100k, load_movielens_100k_split
from ._synthetic import make_group_ratings

__all__ = [
    "ChecksumError",
    "UnsafeArchiveError",
    "clear_data_home",
    "get_data_home",
    "load_group_folder",
    "load_itm_rec",
    "load_mafengwo",
    "load_movielens_100k",
    "load_movielens_100k_split",
    "make_group_ratings",
]
