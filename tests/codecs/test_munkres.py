"""munkres_assignment == munkres 1.1.4's ``Munkres().compute``, on golden assignments recorded from 1.1.4.

The fixture ``tests/fixtures/official/munkres_golden.npz`` holds 1,040 tie-heavy matrices shaped
like the official grouping's (``round(distance) * 100 - score``, 1..35 x 1..35, 1e10 column padding;
near-integer, integer, float32 and tall variants) and the assignment the real 1.1.4 returned for each
(``benchmarks/record_munkres_golden.py``). scipy's ``linear_sum_assignment`` is a different solver:
it returns an optimal assignment too, but a different one on most of these matrices (71.8 % of the
'official' family when recorded, changing the accepted pairs in 48.7 %); the last test measures it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from posekit.codecs.munkres import munkres_assignment

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "official" / "munkres_golden.npz"
PAD = 1e10


def _golden_cases() -> list[tuple[str, np.ndarray | list[list[float]], list[tuple[int, int]], np.ndarray, int]]:
    """(family, cost as the official code passes it, 1.1.4's pairs, below-threshold flags, people)."""
    with np.load(GOLDEN, allow_pickle=False) as archive:
        data = {name: archive[name] for name in archive.files}  # decompress each array once
    families = [str(name) for name in data["families"]]
    below_flat = np.unpackbits(data["below"])[: int(data["below_count"])].astype(bool)
    cases = []
    entry = row_start = 0
    for family_id, (rows, columns) in zip(data["family"], data["shape"].astype(int), strict=True):
        family = families[family_id]
        rounded = data["rounded"][entry : entry + rows * columns].reshape(rows, columns)
        below = below_flat[entry : entry + rows * columns].reshape(rows, columns)
        scores = data["scores"][row_start : row_start + rows]
        assigned = data["assigned"][row_start : row_start + rows]
        entry += rows * columns
        row_start += rows
        if family == "float32":
            cost: np.ndarray | list[list[float]] = (
                np.round(rounded.astype(np.float32)) * np.float32(100) - scores[:, None]
            )
            if rows > columns:
                cost = np.concatenate((cost, np.full((rows, rows - columns), PAD, dtype=np.float32)), axis=1)
        else:
            cost = np.round(rounded.astype(np.float64)) * 100 - scores.astype(np.float64)[:, None]
            if family == "tall":
                cost = cost.tolist()
            elif rows > columns:
                cost = np.concatenate((cost, np.zeros((rows, rows - columns)) + PAD), axis=1)
        pairs = [(row, int(column)) for row, column in enumerate(assigned) if column >= 0]
        cases.append((family, cost, pairs, below, columns))
    return cases


@pytest.fixture(scope="module")
def golden() -> list[tuple[str, np.ndarray | list[list[float]], list[tuple[int, int]], np.ndarray, int]]:
    return _golden_cases()


def test_identical_to_munkres_1_1_4_on_every_golden_matrix(golden: list) -> None:
    assert len(golden) == 1040
    assert {family for family, *_ in golden} == {"official", "near_integer", "integer", "float32", "tall"}
    mismatches = [index for index, (_, cost, pairs, _, _) in enumerate(golden) if munkres_assignment(cost) != pairs]
    assert mismatches == []


def test_golden_matrices_are_tie_heavy(golden: list) -> None:
    # Most matrices have several optimal assignments (a repeated cost in some row), so identity is not luck.
    tied = sum(
        any(len(set(row)) < len(row) for row in np.asarray(cost)) for family, cost, *_ in golden if family == "official"
    )
    assert tied > 400


def test_scipy_linear_sum_assignment_differs_on_ties(golden: list) -> None:
    """scipy finds an assignment of the same (optimal) cost, but often another one than 1.1.4."""
    differs = 0
    official = [case for case in golden if case[0] == "official"]
    for _, cost, pairs, _, _ in official:
        matrix = np.asarray(cost)
        rows, columns = linear_sum_assignment(matrix)
        scipy_pairs = [(int(r), int(c)) for r, c in zip(rows, columns, strict=True)]
        ours = munkres_assignment(matrix)
        assert matrix[tuple(np.array(scipy_pairs).T)].sum() == pytest.approx(matrix[tuple(np.array(ours).T)].sum())
        differs += scipy_pairs != pairs
    assert differs / len(official) > 0.5  # 71.8 % when recorded


def test_float32_input_is_computed_in_float32() -> None:
    # 1.1.4 updates numpy rows in place, so float32 costs stay float32; the assignment still is optimal.
    cost = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [3.0, 6.0, 9.0]], dtype=np.float32)
    pairs = munkres_assignment(cost)
    assert sorted(column for _, column in pairs) == [0, 1, 2]
    assert cost[tuple(np.array(pairs).T)].sum() == 10.0


def test_padding_and_shapes() -> None:
    assert munkres_assignment(np.array([[5.0]])) == [(0, 0)]
    assert munkres_assignment([[1, 2, 3]]) == [(0, 0)]  # wide: one pair per row
    assert munkres_assignment([[3], [1], [2]]) == [(1, 0)]  # tall: zero-padded columns, pairs inside only
    assert munkres_assignment(np.zeros((0, 3))) == []


@pytest.mark.parametrize(
    ("cost", "message"),
    [(np.zeros(3), "2-D"), (np.array([[1.0, np.nan]]), "finite"), (np.array([["a"]]), "real numbers")],
)
def test_bad_cost_raises_one_clear_error(cost: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        munkres_assignment(cost)
