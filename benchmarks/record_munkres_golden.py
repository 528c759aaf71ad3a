"""Record golden assignments of the real ``munkres==1.1.4`` on tie-heavy matrices (run once, not in CI).

The official HigherHRNet grouping (``lib/core/group.py``) calls ``Munkres().compute`` on
``round(tag distance) * 100 - score`` matrices, padded with ``1e10`` columns when there are more
joints than people. Those costs tie all the time, so the choice among optimal assignments matters;
``tests/codecs/test_munkres.py`` checks that :func:`posekit.codecs.munkres.munkres_assignment`
returns exactly what 1.1.4 returned here. The matrices are drawn the way the official code builds
them (joints' tags near some people's mean tags, detection scores in ``(0.1, 1]``) with the shapes it
sees (1..35 joints x 1..35 people) in five families:

* ``official``: ``round(distance) * 100 - score`` with scores random, quantised to 0.05 or all
  equal (most ties), float64 numpy arrays as group.py passes them;
* ``near_integer``: scores of a few float32 ulps (costs within 1e-6 of multiples of 100);
* ``integer``: scores 0 (pure multiples of 100: every optimum ties);
* ``float32``: the ``official`` family computed and passed in float32 (1.1.4 keeps float32 rows);
* ``tall``: more rows than columns without the 1e10 padding, passed as lists of lists (1.1.4 pads
  lists with zeros; its numpy path cannot pad rows).

Stored without pickles in ``tests/fixtures/official/munkres_golden.npz``: per matrix its family,
shape and, entry by entry, the rounded distance (uint8), whether the distance is below the tag
threshold 1.0 (for the accepted-pair statistic), the per-row score (float32) and the column 1.1.4
assigned to each row (-1: none). The test rebuilds each cost matrix with the official expression.
It also prints how often ``scipy.optimize.linear_sum_assignment`` differs on the same matrices.

Run::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/record_munkres_golden.py /work/ref-munkres \\
        [--out tests/fixtures/official/munkres_golden.npz] [--seed 0]
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import numpy as np

FAMILIES = ("official", "near_integer", "integer", "float32", "tall")
COUNTS = {"official": 600, "near_integer": 120, "integer": 120, "float32": 100, "tall": 100}
PAD = 1e10


def build_cost(family: str, rounded: np.ndarray, scores: np.ndarray) -> np.ndarray | list[list[float]]:
    """The cost matrix as the official code builds it (and the type it passes to ``compute``)."""
    rows, columns = rounded.shape
    if family == "float32":
        cost32 = np.round(rounded.astype(np.float32)) * np.float32(100) - scores[:, None]
        if rows > columns:
            cost32 = np.concatenate((cost32, np.full((rows, rows - columns), PAD, dtype=np.float32)), axis=1)
        return cost32
    cost = np.round(rounded.astype(np.float64)) * 100 - scores.astype(np.float64)[:, None]
    if family == "tall":
        return cost.tolist()
    if rows > columns:
        cost = np.concatenate((cost, np.zeros((rows, rows - columns)) + PAD), axis=1)
    return cost


def draw_matrix(family: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One matrix: rounded distances ``(R, C)`` uint8, below-threshold flags ``(R, C)`` and scores ``(R,)``."""
    if family == "tall":
        columns = int(rng.integers(1, 34))
        rows = int(rng.integers(columns + 1, 36))
    else:
        rows, columns = int(rng.integers(1, 36)), int(rng.integers(1, 36))
    tag_columns = int(rng.choice([1, 2]))
    spacing = float(rng.choice([0.6, 1.0, 1.7, 3.0]))
    people = (
        rng.integers(0, 6, size=(columns, tag_columns)) * spacing + rng.normal(0, 0.2, (columns, tag_columns))
    ).astype(np.float32)
    owner = rng.integers(0, columns, size=rows)
    joints = people[owner] + rng.normal(0, float(rng.choice([0.1, 0.4, 1.0])), (rows, tag_columns))
    new = rng.random(rows) < 0.2  # joints of people not seen yet
    joints[new] = rng.uniform(-2, 8, (int(new.sum()), tag_columns))
    distance = np.linalg.norm(joints[:, None, :] - people[None, :, :].astype(np.float64), ord=2, axis=2)
    rounded = np.round(distance).astype(np.uint8)
    below = distance < 1.0
    style = rng.integers(0, 3)
    if family in ("integer",):
        scores = np.zeros(rows, dtype=np.float32)
    elif family == "near_integer":
        scores = (rng.integers(1, 4, size=rows) * np.finfo(np.float32).eps).astype(np.float32)
    elif style == 0:
        scores = rng.uniform(0.1, 1.0, rows).astype(np.float32)
    elif style == 1:
        scores = (np.round(rng.uniform(0.1, 1.0, rows) / 0.05) * 0.05).astype(np.float32)
    else:
        scores = np.full(rows, np.float32(rng.uniform(0.1, 1.0)), dtype=np.float32)
    return rounded, below, scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("munkres_path", help="folder holding munkres.py of munkres==1.1.4")
    parser.add_argument("--out", default="tests/fixtures/official/munkres_golden.npz")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    sys.path.insert(0, args.munkres_path)
    munkres = importlib.import_module("munkres")
    if munkres.__version__ != "1.1.4":
        raise SystemExit(f"{args.munkres_path} holds munkres {munkres.__version__}, expected 1.1.4")
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(args.seed)
    family_ids, shapes, rounded_all, below_all, scores_all, assigned_all = [], [], [], [], [], []
    scipy_differs = scipy_accepted_differs = official_total = 0
    for family_id, family in enumerate(FAMILIES):
        for _ in range(COUNTS[family]):
            rounded, below, scores = draw_matrix(family, rng)
            rows, columns = rounded.shape
            cost = build_cost(family, rounded, scores)
            pairs = munkres.Munkres().compute(cost.copy() if isinstance(cost, np.ndarray) else cost)
            assigned = np.full(rows, -1, dtype=np.int8)
            for row, column in pairs:
                assigned[int(row)] = int(column)
            family_ids.append(family_id)
            shapes.append((rows, columns))
            rounded_all.append(rounded.ravel())
            below_all.append(below.ravel())
            scores_all.append(scores)
            assigned_all.append(assigned)
            if family == "official":
                official_total += 1
                scipy_rows, scipy_columns = linear_sum_assignment(np.asarray(cost))
                scipy_assigned = np.full(rows, -1, dtype=np.int64)
                scipy_assigned[scipy_rows] = scipy_columns
                scipy_differs += not np.array_equal(scipy_assigned, assigned)

                def accepted(assignment: np.ndarray, below: np.ndarray = below, columns: int = columns) -> set:
                    return {(r, int(c)) for r, c in enumerate(assignment) if 0 <= c < columns and below[r, c]}

                scipy_accepted_differs += accepted(scipy_assigned) != accepted(assigned)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        families=np.array(FAMILIES),
        family=np.array(family_ids, dtype=np.uint8),
        shape=np.array(shapes, dtype=np.uint8),
        rounded=np.concatenate(rounded_all),
        below=np.packbits(np.concatenate(below_all)),
        below_count=np.array(sum(b.size for b in below_all)),
        scores=np.concatenate(scores_all),
        assigned=np.concatenate(assigned_all),
        source=np.array(
            f"munkres {munkres.__version__} Munkres().compute; benchmarks/record_munkres_golden.py seed {args.seed}"
        ),
    )
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB): {len(family_ids)} matrices")
    print(
        f"scipy linear_sum_assignment vs munkres 1.1.4 on the {official_total} 'official' matrices: "
        f"different assignment {scipy_differs} ({100 * scipy_differs / official_total:.1f} %), "
        f"different accepted pairs (distance < 1) {scipy_accepted_differs} "
        f"({100 * scipy_accepted_differs / official_total:.1f} %)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
