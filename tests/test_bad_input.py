"""Every row of the bad-input table (``tests/bad_input_cases.py``): a clear error naming
what is wrong, or the documented fall-back."""

import re
import warnings

import pytest
from bad_input_cases import CASES


def _param(case):
    marks = [pytest.mark.xfail(reason=case.pending, strict=False)] if case.pending else []
    return pytest.param(case, id=case.id, marks=marks)


def test_table_is_large_and_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert sum(case.expects_error for case in CASES) >= 25
    for case in CASES:
        assert case.expects_error != (case.check is not None), case.id
        assert case.expects_error or case.outcome, case.id
        if case.expects_error:
            re.compile(case.match)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input(case, tmp_path):
    with warnings.catch_warnings():
        # k-means on tiny data, convergence chatter of the fall-back fits: not under test
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        if case.expects_error:
            with pytest.raises(case.raises, match=case.match):
                case.run(tmp_path)
        else:
            case.check(case.run(tmp_path))
