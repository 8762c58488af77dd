"""Mafengwo: real travel groups and the places they visited (AGREE, SIGIR 2018)."""

from __future__ import annotations

from ._fetch import DATA_HOME_ENV, ChecksumError, file_md5, get_data_home, load_descr
from ._group_folder import load_group_folder

FOLDER = "mafengwo"
SOURCE = "the folder data/Mafengwo of the ConsRec repository FDUDSDE/WWW2023ConsRec (MIT licence)"
FILES = (
    ("groupMember.txt", "a1e33d734d85a416d62b9fb8d80fd923"),
    ("groupRatingTrain.txt", "8230c73169e04b529da657b0a8b37036"),
    ("groupRatingTest.txt", "9d59ae37bd73bdb61f0c63b1942ffe9a"),
    ("groupRatingNegative.txt", "13640a6781489dc722f0eae3777ea837"),
    ("userRatingTrain.txt", "6c48e3c78742d69f512bbbec180e14ec"),
    ("userRatingTest.txt", "07dda5e7b111e2b5ea63e3b13817fc90"),
    ("userRatingNegative.txt", "2cea3086433fc2fbe74d2896c561a8d6"),
    ("userFollow.txt", "d3747a4a080a743fa0aef2571e771802"),
)


def load_mafengwo(data_home=None):
    """Load Mafengwo: travel groups, the places they visited, test cases and negatives.

    Real groups of travellers of the Mafengwo site, as implicit feedback (a row is a visit;
    there are no ratings), in the files published with ConsRec (WWW 2023), which are those
    of AGREE (SIGIR 2018). The files are read by :func:`load_group_folder`, after checking
    the md5 checksum of each. Read more in the dataset description (``DESCR``).

    ======================   ==================================================
    Groups                   995, of 2 to 48 members (mean 9.63)
    Users                    5,275 (all group members; 2,017 with training rows)
    Items                    1,513 places (ids 0 to 1,512)
    Group interactions       2,600 train, 995 test cases (one per group)
    User interactions        38,011 train, 1,754 test cases
    Negatives                100 per test case, as published
    Social links             53,235 (``userFollow.txt``)
    ======================   ==================================================

    The negatives are kept as published: drawn with replacement (1,100 duplicate entries
    in the group lines, 1,830 in the user lines), some equal to the line's own test item
    (33 group lines, 333 user lines), some training positives of the same group or user:
    6,578 entries of the user lines, 2.6 times what uniform draws would give (about 2,488),
    so a user's own training items compete with the test item unusually often. They are not
    uniform draws: a third of the lines (603 user lines, 371 group lines) hold about 30 of
    the 50 most visited items of their training file, against 3.3 for uniform draws.

    There is no download address: place the eight files of the published folder in
    ``<data_home>/mafengwo/``.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``mafengwo/``. ``None`` uses the environment variable
        ``SK_GROUPREC_DATA``, else ``~/sk_grouprec_data``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        The Bunch of :func:`load_group_folder` (``user_interactions``,
        ``group_interactions``, ``groups``, ``user_test``, ``group_test``,
        ``user_negatives``, ``group_negatives``, ``user_follow``, ``folder``), with
        ``DESCR`` the description of the dataset: source, licence (MIT), counts, quirks.

    Raises
    ------
    FileNotFoundError
        When the folder or one of its eight files is absent (the message says where to
        put them and where they are published).
    ChecksumError
        When a file does not have the checksum of the published version.

    See Also
    --------
    load_group_folder : Any folder in the same layout.

    Examples
    --------
    >>> from sk_grouprec.datasets import load_mafengwo  # doctest: +SKIP
    >>> data = load_mafengwo()  # doctest: +SKIP
    >>> len(data.group_test), data.group_negatives.shape  # doctest: +SKIP
    (995, (995, 100))
    """
    home = get_data_home(data_home)
    folder = home / FOLDER
    missing = [name for name, _ in FILES if not (folder / name).is_file()]
    if missing:
        what = "was not found" if len(missing) == len(FILES) else f"lacks {missing}"
        raise FileNotFoundError(
            f"Mafengwo: the folder '{folder}' {what}. No download address is registered for "
            f"this dataset: copy the eight files of {SOURCE} ({', '.join(n for n, _ in FILES)}) "
            f"into '{folder}', or point data_home= or the environment variable "
            f"{DATA_HOME_ENV} at a folder holding '{FOLDER}/'."
        )
    for name, md5 in FILES:
        actual = file_md5(folder / name)
        if actual != md5:
            raise ChecksumError(
                f"Mafengwo: the file '{folder / name}' has md5 checksum {actual}, expected "
                f"{md5}: it is corrupt, incomplete or not the published version. Replace it "
                f"with the file of {SOURCE}.",
                path=folder / name,
                expected=md5,
                actual=actual,
            )
    data = load_group_folder(folder)
    data.DESCR = load_descr("mafengwo.rst")
    return data
