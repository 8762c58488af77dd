"""Dataset loaders and the synthetic generator.

- :func:`load_movielens_100k`, :func:`load_movielens_100k_split`: MovieLens 100K with user and
  item features, and its canonical splits;
- :func:`load_itm_rec`: ITM-Rec, students' ratings with context, real groups and their group
  ratings;
- :func:`make_group_ratings`: synthetic ratings with a planted group structure.

Files are looked up in ``data_home``, then ``$SK_GROUPREC_DATA``, then ``~/sk_grouprec_data``
(:func:`get_data_home`), and downloaded there with a checksum check when missing.
"""

from ._fetch import ChecksumError, UnsafeArchiveError, clear_data_home, get_data_home
from ._itm_rec import load_itm_rec
from ._movielens import load_movielens_100k, load_movielens_100k_split
from ._synthetic import make_group_ratings

__all__ = [
    "ChecksumError",
    "UnsafeArchiveError",
    "clear_data_home",
    "get_data_home",
    "load_itm_rec",
    "load_movielens_100k",
    "load_movielens_100k_split",
    "make_group_ratings",
]
