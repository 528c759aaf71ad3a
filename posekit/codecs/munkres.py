"""The Munkres (Hungarian) assignment, step for step as the ``munkres==1.1.4`` package computes it.

Associative-embedding grouping (Newell et al., "Associative Embedding", NeurIPS 2017; the official
HigherHRNet ``lib/core/group.py``) matches the joints of one type to the people found so far by
solving an assignment on integer-rounded tag distances: ``cost = round(distance) * 100 - score``.
Such costs tie very often, and which of the tied optimal assignments a solver returns decides
which joint goes to which person. The official code was run with ``munkres==1.1.4``
(``Munkres().compute``); :func:`munkres_assignment` reproduces its result *exactly*, ties included,
by running the same algorithm in the same order on a numpy matrix:

1. pad the matrix with zeros to a square ``n x n``, ``n = max(rows, columns)`` (1.1.4's
   ``pad_matrix``; the pairs returned are those inside the original shape);
2. subtract each row's minimum from the row;
3. star the first zero of each row (rows in order) whose column has no star yet;
4. cover the starred columns; stop when ``n`` columns are covered;
5. search for an uncovered zero: rows in cyclic order from the row where the previous search
   stopped, and inside that row the *last* uncovered zero in cyclic column order from the column
   where it stopped (1.1.4's ``__find_a_zero`` keeps scanning the row after a hit); prime it; if its
   row has a star, cover the row, uncover the star's column and search again from there, else
6. build the alternating path primed -> starred (first star in the column) -> primed (first prime
   in the row), flip stars and primes along it, clear covers and primes, go to 4;
7. when no uncovered zero is left, add the smallest uncovered value to every covered row, then
   subtract it from every uncovered column (two separate roundings per element, as 1.1.4 does
   them), and search again from the top-left corner.

Arithmetic happens in the input's floating dtype (``float64`` for what the official code passes:
``np.round(...) * 100 - val`` arrays; a ``float32`` array stays ``float32`` as 1.1.4's in-place
updates of numpy rows keep it) or in ``int64`` for integer input. Each element sees the same
operations in the same order as in 1.1.4, so every intermediate value is bit-identical and so is
every comparison with zero; the golden test (``tests/codecs/test_munkres.py``) checks identity
against assignments recorded from the real 1.1.4 on tie-heavy matrices shaped like the official
use.

Other solvers are *not* equivalent on ties: ``scipy.optimize.linear_sum_assignment`` returns an
optimal assignment of the same total cost, but a different one on a large share of the golden
matrices (the test measures the share and requires it to be non-zero), and ``munkres`` 3.x, a
rewrite, also differs from 1.1.4.
"""

from __future__ import annotations

import numpy as np

__all__ = ["munkres_assignment"]


def _working_matrix(cost: np.ndarray) -> np.ndarray:
    """The zero-padded square working copy of ``cost`` in the dtype 1.1.4 would compute in."""
    array = np.asarray(cost)
    if array.ndim != 2:
        raise ValueError(f"cost must be a 2-D matrix (rows, columns), got shape {tuple(array.shape)}")
    if array.dtype.kind == "f":
        dtype = array.dtype
    elif array.dtype.kind in "iub":
        dtype = np.dtype(np.int64)
    else:
        raise ValueError(f"cost must hold real numbers, got dtype {array.dtype}")
    if dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError("cost must be finite; it contains NaN or infinite entries")
    rows, columns = array.shape
    size = max(rows, columns)
    matrix = np.zeros((size, size), dtype=dtype)
    matrix[:rows, :columns] = array
    return matrix


def _zeros_by_row(matrix: np.ndarray) -> list[list[int]]:
    """The columns of the exact zeros of each row, ascending: ``n`` lists."""
    zero_rows, zero_columns = np.nonzero(matrix == 0)
    by_row: list[list[int]] = [[] for _ in range(matrix.shape[0])]
    for row, column in zip(zero_rows.tolist(), zero_columns.tolist(), strict=True):
        by_row[row].append(column)
    return by_row


def _find_uncovered_zero(
    zeros: list[list[int]], row_covered: list[bool], column_covered: list[bool], row0: int, column0: int
) -> tuple[int, int]:
    """1.1.4's ``__find_a_zero(row0, column0)``: ``(-1, -1)`` when every zero is covered.

    Rows are scanned cyclically from ``row0``; the first row holding an uncovered zero wins, and in
    it the zero met *last* when scanning columns cyclically from ``column0``.
    """
    size = len(zeros)
    for offset in range(size):
        row = row0 + offset
        if row >= size:
            row -= size
        if row_covered[row]:
            continue
        best_column, best_key = -1, -1
        for column in zeros[row]:
            if not column_covered[column]:
                key = column - column0 if column >= column0 else column - column0 + size
                if key > best_key:
                    best_column, best_key = column, key
        if best_column >= 0:
            return row, best_column
    return -1, -1


def munkres_assignment(cost: np.ndarray) -> list[tuple[int, int]]:
    """Minimum-cost assignment, exactly as ``munkres.Munkres().compute(cost)`` of ``munkres==1.1.4``.

    Args:
        cost: ``(R, C)`` matrix of finite real costs (numpy array or nested lists). Non-square
            matrices are padded with zeros to ``max(R, C)`` squared, as 1.1.4 pads lists of lists.

    Returns:
        The ``(row, column)`` pairs of the assignment inside the original ``R x C`` matrix, sorted by
        row: ``min(R, C)`` pairs (every row when ``R <= C``). An empty matrix gives ``[]`` (1.1.4
        raises ``IndexError`` for zero rows).

    Raises:
        ValueError: ``cost`` is not 2-D, not real, or holds NaN or infinite entries.
    """
    matrix = _working_matrix(np.asarray(cost))
    rows, columns = np.shape(cost)
    if rows == 0 or columns == 0:
        return []
    size = matrix.shape[0]

    # Step 1: subtract each row's minimum.
    matrix -= matrix.min(axis=1, keepdims=True)
    zeros = _zeros_by_row(matrix)  # refreshed whenever the matrix changes (step 6)

    # Step 2: star the first zero of each row whose column holds no star yet. A row and a column
    # hold at most one star, and (between two path flips) a row at most one prime.
    star_in_row = [-1] * size  # column of the row's star, or -1
    star_in_column = [-1] * size  # row of the column's star, or -1
    for row in range(size):
        for column in zeros[row]:
            if star_in_column[column] < 0:
                star_in_row[row], star_in_column[column] = column, row
                break

    while True:
        # Step 3: cover the starred columns; done when all are covered.
        column_covered = [star >= 0 for star in star_in_column]
        if sum(column_covered) >= size:
            break
        row_covered = [False] * size
        prime_in_row = [-1] * size
        # Steps 4 and 6: prime uncovered zeros, moving covers, until a prime has no star in its row.
        search_row, search_column = 0, 0
        while True:
            row, column = _find_uncovered_zero(zeros, row_covered, column_covered, search_row, search_column)
            if row < 0:
                # Step 6: the smallest uncovered value, added to covered rows, then taken from
                # uncovered columns (two roundings per element, as 1.1.4); the search restarts at (0, 0).
                covered_rows = np.array(row_covered)
                uncovered_columns = ~np.array(column_covered)
                smallest = matrix[~covered_rows][:, uncovered_columns].min()
                matrix[covered_rows] += smallest
                matrix[:, uncovered_columns] -= smallest
                zeros = _zeros_by_row(matrix)
                search_row, search_column = 0, 0
                continue
            prime_in_row[row] = column
            star_column = star_in_row[row]
            if star_column < 0:
                break
            search_row, search_column = row, star_column
            row_covered[row] = True
            column_covered[star_column] = False
        # Step 5: the alternating path prime -> star in its column -> prime in that star's row ...
        # from the unmatched prime; its stars are unstarred and its primes starred.
        primes = [(row, column)]
        stars = []
        while star_in_column[primes[-1][1]] >= 0:
            star_row = star_in_column[primes[-1][1]]
            stars.append((star_row, primes[-1][1]))
            primes.append((star_row, prime_in_row[star_row]))
        for star_row, star_column in stars:
            star_in_row[star_row], star_in_column[star_column] = -1, -1
        for prime_row, prime_column in primes:
            star_in_row[prime_row], star_in_column[prime_column] = prime_column, prime_row

    return [(row, star_in_row[row]) for row in range(rows) if 0 <= star_in_row[row] < columns]
