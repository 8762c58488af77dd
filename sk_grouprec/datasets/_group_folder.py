"""Reader of the folder layout of the group-recommendation literature (AGREE, ConsRec, ...).

A folder holds, for groups and for users alike, training interactions, one held-out test
interaction per line and, line for line, the sampled negatives of each test line::

    groupMember.txt            group_id user_id,user_id,...
    groupRatingTrain.txt       group_id item_id [rating]
    groupRatingTest.txt        group_id item_id [rating]
    groupRatingNegative.txt    (group_id,item_id) n1 n2 ... nN
    userRatingTrain.txt        user_id item_id [rating]
    userRatingTest.txt         user_id item_id [rating]
    userRatingNegative.txt     (user_id,item_id) n1 n2 ... nN
    userFollow.txt             user_id:followee followee ...      (optional)

Fields are separated by spaces or tabs; LF and CRLF line endings are both accepted.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from .._validation import GROUP_COL, ITEM_COL, RATING_COL, USER_COL

MEMBER_FILE = "groupMember.txt"
FOLLOW_FILE = "userFollow.txt"
RATING_FILES = {
    (level, part): f"{level}Rating{part}.txt"
    for level in ("group", "user")
    for part in ("Train", "Test", "Negative")
}
REQUIRED_FILES = (MEMBER_FILE, *RATING_FILES.values())
FOLLOWEE_COL = "followee_id"

_MAX_DIGITS = 18  # a non-negative integer id fits in int64
_ID = r"\d{1,18}"


def load_group_folder(path):
    """Load a folder in the AGREE/ConsRec layout: interactions, groups, test cases, negatives.

    The folder holds ``groupMember.txt``, ``groupRatingTrain.txt``, ``groupRatingTest.txt``,
    ``groupRatingNegative.txt``, ``userRatingTrain.txt``, ``userRatingTest.txt``,
    ``userRatingNegative.txt`` and optionally ``userFollow.txt`` (see the module docstring
    for their format). Interaction files have two columns (``id item``) or three (a rating
    third), the same number on every line of a file. Fields are separated by whitespace;
    CRLF line endings and blank lines at the end of a file are accepted.

    Everything is returned as published: nothing is deduplicated, filtered or re-indexed.
    In particular the negatives keep their duplicates (they were drawn with replacement)
    and the entries equal to the line's own test item; evaluation functions such as
    :func:`sk_grouprec.metrics.evaluate_sampled` drop the latter.

    Parameters
    ----------
    path : str or path-like
        The folder.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes (ids are int64, ratings float64):

        user_interactions : pandas.DataFrame
            ``userRatingTrain.txt``: ``user_id``, ``item_id`` and ``rating`` when the file
            has a third column; one row per line, in file order.
        group_interactions : pandas.DataFrame
            ``groupRatingTrain.txt``: ``group_id``, ``item_id`` [, ``rating``].
        groups : pandas.DataFrame
            ``groupMember.txt`` as a membership table, ``group_id`` and ``user_id``: one
            row per (group, member), groups in file order, members in listed order.
        user_test, group_test : pandas.DataFrame
            The test cases, ``user_id`` (or ``group_id``), ``item_id`` [, ``rating``]: one
            row per line of ``userRatingTest.txt`` (``groupRatingTest.txt``), in file order.
        user_negatives, group_negatives : numpy.ndarray of shape (n_test_cases, n_negatives)
            int64; row ``k`` holds the item ids listed on line ``k`` of the negative file,
            in their published order, duplicates and test items included. Row ``k``
            belongs to row ``k`` of ``user_test`` (``group_test``).
        user_follow : pandas.DataFrame or None
            ``userFollow.txt`` as an edge list ``user_id``, ``followee_id`` (one row per
            listed followee, in file order); None when the file is absent.
        folder : str
            The folder read.
        DESCR : str
            A short description with the counts.

    Raises
    ------
    FileNotFoundError
        When the folder or one of the required files is missing.
    ValueError
        When a file is malformed, naming the file, the 1-based line and the problem: a
        wrong number of fields, a field that is not a non-negative integer id (or a rating
        that is not a finite number), an empty line, a group listed twice or with a member
        listed twice in ``groupMember.txt``, a group of the rating files absent from
        ``groupMember.txt``, a negative line whose ``(id,item)`` differs from the test line
        of the same position, lines with different numbers of negatives, or negative and
        test files with different numbers of lines.

    See Also
    --------
    load_mafengwo : The Mafengwo travel groups, read by this function.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sk_grouprec.datasets import load_group_folder
    >>> files = {
    ...     "groupMember.txt": "0 0,1\\n1 1,2,3\\n",
    ...     "groupRatingTrain.txt": "0 5\\n1 6\\n",
    ...     "groupRatingTest.txt": "0 6\\n1 5\\n",
    ...     "groupRatingNegative.txt": "(0,6) 7 8\\n(1,5) 8 8\\n",
    ...     "userRatingTrain.txt": "0 5\\n2 6\\n",
    ...     "userRatingTest.txt": "2 7\\n",
    ...     "userRatingNegative.txt": "(2,7) 5 7\\n",
    ... }
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name, text in files.items():
    ...         _ = (Path(tmp) / name).write_text(text)
    ...     data = load_group_folder(tmp)
    >>> data.groups.groupby("group_id").size().tolist()
    [2, 3]
    >>> data.group_negatives
    array([[7, 8],
           [8, 8]])
    >>> data.user_test
       user_id  item_id
    0        2        7
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or path-like; got {type(path).__name__}.")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"the folder '{folder}' does not exist.")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"the folder '{folder}' lacks the required file(s) {missing}; a group "
            f"recommendation folder holds {list(REQUIRED_FILES)} (and optionally "
            f"'{FOLLOW_FILE}')."
        )
    groups = _read_members(folder / MEMBER_FILE)
    result = {}
    for level, id_col in (("user", USER_COL), ("group", GROUP_COL)):
        train_path = folder / RATING_FILES[level, "Train"]
        test_path = folder / RATING_FILES[level, "Test"]
        train = _read_interactions(train_path, id_col)
        test = _read_interactions(test_path, id_col)
        if level == "group":
            known = groups[GROUP_COL].unique()
            for frame, source in ((train, train_path), (test, test_path)):
                unknown = ~frame[GROUP_COL].isin(known).to_numpy()
                if unknown.any():
                    line = int(np.flatnonzero(unknown)[0])
                    raise _error(
                        source,
                        line + 1,
                        f"group {frame[GROUP_COL].iloc[line]} is not listed in {MEMBER_FILE}",
                    )
        negatives = _read_negatives(folder / RATING_FILES[level, "Negative"], test, test_path)
        result[f"{level}_interactions"] = train
        result[f"{level}_test"] = test
        result[f"{level}_negatives"] = negatives
    follow_path = folder / FOLLOW_FILE
    follow = _read_follow(follow_path) if follow_path.is_file() else None
    bunch = Bunch(
        user_interactions=result["user_interactions"],
        group_interactions=result["group_interactions"],
        groups=groups,
        user_test=result["user_test"],
        group_test=result["group_test"],
        user_negatives=result["user_negatives"],
        group_negatives=result["group_negatives"],
        user_follow=follow,
        folder=str(folder),
    )
    bunch.DESCR = _describe(bunch)
    return bunch


# --------------------------------------------------------------------------------------
# parsing helpers (vectorised over the lines of a file)


def _error(path, line, problem):
    return ValueError(f"'{path}', line {line}: {problem}.")


def _read_lines(path):
    """The stripped lines of a text file, a list of str (position = 0-based line number)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"'{path}' is not UTF-8 text ({exc}).") from None
    lines = text.rstrip().split("\n")  # blank lines at the end are not lines
    if lines == [""]:
        raise ValueError(f"'{path}' is empty; at least one line is required.")
    lines = [line.strip() for line in lines]
    empty = np.flatnonzero(np.char.str_len(np.asarray(lines, dtype=str)) == 0)
    if empty.size:
        raise _error(path, int(empty[0]) + 1, "empty line")
    return lines


def _split(strings, sep=None):
    """Each string split at ``sep`` (whitespace when None) and the number of its parts."""
    parts = [string.split(sep) for string in strings]
    return parts, np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))


def _flatten(parts, counts):
    """The parts of all lines in one array, and the 0-based line of each."""
    flat = np.asarray([token for line in parts for token in line], dtype=str)
    return flat, np.repeat(np.arange(counts.shape[0]), counts)


def _check_same_count(counts, path, allowed, what, lines):
    bad = ~np.isin(counts, allowed)
    if bad.any():
        line = int(np.flatnonzero(bad)[0])
        raise _error(
            path, line + 1, f"expected {what}; found {counts[line]} field(s) in {lines[line]!r}"
        )
    if (counts != counts[0]).any():
        line = int(np.flatnonzero(counts != counts[0])[0])
        raise _error(
            path,
            line + 1,
            f"{counts[line]} fields, but line 1 has {counts[0]}: every line needs the same "
            "number of fields",
        )


def _parse_ids(tokens, path, what, line_of=None):
    """int64 array of the id strings ``tokens``; ``line_of[i]`` is the 0-based line of each."""
    tokens = np.asarray(tokens, dtype=str).ravel()
    valid = np.char.isdecimal(tokens) & (np.char.str_len(tokens) <= _MAX_DIGITS)
    if not valid.all():
        first = int(np.flatnonzero(~valid)[0])
        line = first if line_of is None else int(line_of[first])
        raise _error(
            path,
            line + 1,
            f"{what} {str(tokens[first])!r} is not an integer id (ids are non-negative integers)",
        )
    return tokens.astype(np.int64)


def _parse_ratings(tokens, path):
    values = pd.to_numeric(pd.Series(tokens, dtype=object), errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        line = int(np.flatnonzero(bad)[0])
        raise _error(path, line + 1, f"rating {str(tokens[line])!r} is not a finite number")
    return values


def _read_interactions(path, id_col):
    """``id item [rating]`` lines -> DataFrame ``id_col``, ``item_id`` [, ``rating``]."""
    lines = _read_lines(path)
    parts, counts = _split(lines)
    _check_same_count(counts, path, (2, 3), f"2 or 3 fields ('{id_col} item_id [rating]')", lines)
    fields = np.asarray(parts, dtype=str)
    columns = {
        id_col: _parse_ids(fields[:, 0], path, id_col),
        ITEM_COL: _parse_ids(fields[:, 1], path, ITEM_COL),
    }
    if fields.shape[1] == 3:
        columns[RATING_COL] = _parse_ratings(fields[:, 2], path)
    return pd.DataFrame(columns)


def _read_members(path):
    """``group user,user,...`` lines -> membership DataFrame ``group_id``, ``user_id``."""
    lines = _read_lines(path)
    parts, counts = _split(lines)
    _check_same_count(counts, path, (2,), "2 fields ('group_id user_id,user_id,...')", lines)
    fields = np.asarray(parts, dtype=str)
    group_ids = _parse_ids(fields[:, 0], path, GROUP_COL)
    repeated = pd.Series(group_ids).duplicated().to_numpy()
    if repeated.any():
        line = int(np.flatnonzero(repeated)[0])
        raise _error(path, line + 1, f"group {group_ids[line]} is listed a second time")
    members, sizes = _split(fields[:, 1].tolist(), ",")
    flat, line_of = _flatten(members, sizes)
    user_ids = _parse_ids(flat, path, USER_COL, line_of)
    frame = pd.DataFrame({GROUP_COL: np.repeat(group_ids, sizes), USER_COL: user_ids})
    twice = frame.duplicated().to_numpy()
    if twice.any():
        first = int(np.flatnonzero(twice)[0])
        raise _error(
            path,
            int(line_of[first]) + 1,
            f"user {user_ids[first]} is listed twice in group {group_ids[line_of[first]]}",
        )
    return frame


def _read_negatives(path, test, test_path):
    """``(id,item) n1 ... nN`` lines -> int64 array (n_lines, N), checked against ``test``."""
    lines = _read_lines(path)
    parts, counts = _split(lines)
    head = pd.Series([line[0] for line in parts], dtype=object)
    pairs = head.str.extract(rf"^\(({_ID}),({_ID})\)$")
    bad = pairs.isna().any(axis=1).to_numpy()
    if bad.any():
        line = int(np.flatnonzero(bad)[0])
        raise _error(
            path,
            line + 1,
            "expected '(id,item_id) n1 n2 ...' starting with the test pair in parentheses; "
            f"found {head.iloc[line]!r}",
        )
    ids = pairs.to_numpy().astype(np.int64)
    expected = test.iloc[:, :2].to_numpy()
    n = min(ids.shape[0], expected.shape[0])
    mismatch = (ids[:n] != expected[:n]).any(axis=1)
    if mismatch.any():
        line = int(np.flatnonzero(mismatch)[0])
        raise _error(
            path,
            line + 1,
            f"the pair ({ids[line, 0]},{ids[line, 1]}) does not match line {line + 1} of "
            f"'{test_path}' ({expected[line, 0]} {expected[line, 1]})",
        )
    if len(lines) != test.shape[0]:
        raise ValueError(
            f"'{path}' has {len(lines)} lines but '{test_path}' has {test.shape[0]}: line k "
            "of the negative file holds the negatives of line k of the test file."
        )
    counts = counts - 1
    if counts[0] == 0:
        raise _error(path, 1, "no negative item after the test pair")
    if (counts != counts[0]).any():
        line = int(np.flatnonzero(counts != counts[0])[0])
        raise _error(
            path,
            line + 1,
            f"{counts[line]} negative items, but line 1 has {counts[0]}: every line needs the "
            "same number",
        )
    flat, line_of = _flatten([line[1:] for line in parts], counts)
    return _parse_ids(flat, path, "negative item", line_of).reshape(len(lines), counts[0])


def _read_follow(path):
    """``user:followee followee ...`` lines -> edge list ``user_id``, ``followee_id``."""
    lines = _read_lines(path)
    parts, counts = _split(lines, ":")
    _check_same_count(counts, path, (2,), "'user_id:followee followee ...' (one ':')", lines)
    user_ids = _parse_ids([line[0].strip() for line in parts], path, USER_COL)
    followees, n_followees = _split([line[1] for line in parts])
    flat, line_of = _flatten(followees, n_followees)
    followee_ids = _parse_ids(flat, path, FOLLOWEE_COL, line_of)
    return pd.DataFrame({USER_COL: np.repeat(user_ids, n_followees), FOLLOWEE_COL: followee_ids})


def _describe(bunch):
    sizes = bunch.groups.groupby(GROUP_COL, sort=False).size()
    items = np.unique(
        np.concatenate(
            [
                bunch.user_interactions[ITEM_COL].to_numpy(),
                bunch.group_interactions[ITEM_COL].to_numpy(),
                bunch.user_test[ITEM_COL].to_numpy(),
                bunch.group_test[ITEM_COL].to_numpy(),
                bunch.user_negatives.ravel(),
                bunch.group_negatives.ravel(),
            ]
        )
    )
    follow = "absent" if bunch.user_follow is None else f"{len(bunch.user_follow)} links"
    return (
        f"Group recommendation folder '{bunch.folder}'\n\n"
        f"- {sizes.size} groups of {sizes.min()} to {sizes.max()} members "
        f"(mean {sizes.mean():.2f}); {bunch.groups[USER_COL].nunique()} distinct members\n"
        f"- {len(bunch.group_interactions)} group and {len(bunch.user_interactions)} user "
        "training interactions\n"
        f"- {len(bunch.group_test)} group and {len(bunch.user_test)} user test cases, with "
        f"{bunch.group_negatives.shape[1]} and {bunch.user_negatives.shape[1]} negatives each\n"
        f"- {items.size} distinct items in all files (ids {items.min()} to {items.max()})\n"
        f"- social links: {follow}\n"
    )
