"""Bottom-up grouping speed: the official HigherHRNet ``HeatmapParser`` vs posekit ``group_people``.

Both run in the same process, one thread, on the same synthetic network outputs: 17 joints at
512 x 704 (the aggregated maps are at input resolution), ``synthetic_ae_maps`` with sigma 6 px,
15 % of joints missing (so refine has work), uniform heatmap noise 0.02 and tag noise 0.05. The
official ``lib/core/group.py`` is imported from a checkout the user points at, with
``munkres==1.1.4``. Per scenario and case, each implementation runs once (alternating which goes
first); the table gives the median seconds per image, their ratio, and how many of the cases gave
identical results (same people, joints, scores and order, float32 bit-identical). A second table
splits both into their stages (official: ``top_k``, ``match``, ``adjust`` and parse's refine loop;
posekit: its private steps) on the first 3 cases of each scenario with refine.

Run::

    mkdir -p /tmp/hhrnet && git -C <official git dir> archive HEAD | tar -x -C /tmp/hhrnet
    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_ae_grouping.py /tmp/hhrnet \\
        --munkres /work/ref-munkres [--cases 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import torch

from posekit.codecs import ae_grouping
from posekit.codecs.ae_grouping import GroupingConfig, group_people, synthetic_ae_maps

SIZE = (704, 512)  # (W, H)
NUM_JOINTS = 17
# (label, people, tag columns L, refine)
SCENARIOS = (
    ("3 people", 3, 1, True),
    ("15 people", 15, 1, True),
    ("3 people, refine off", 3, 1, False),
    ("15 people, refine off", 15, 1, False),
    ("15 people, flip (L = 2)", 15, 2, True),
)


def official_parser(group_module: Any) -> Any:
    """The official HeatmapParser with the HigherHRNet COCO test settings (a namespace for the yacs cfg)."""
    cfg = SimpleNamespace(
        DATASET=SimpleNamespace(NUM_JOINTS=NUM_JOINTS, MAX_NUM_PEOPLE=30, WITH_CENTER=False),
        MODEL=SimpleNamespace(TAG_PER_JOINT=True),
        TEST=SimpleNamespace(
            DETECTION_THRESHOLD=0.1,
            TAG_THRESHOLD=1.0,
            USE_DETECTION_VAL=True,
            IGNORE_TOO_MUCH=False,
            IGNORE_CENTER=True,
            NMS_KERNEL=5,
            NMS_PADDING=2,
        ),
    )
    return group_module.HeatmapParser(cfg)


def official_stages(official: Any, det: torch.Tensor, tag: torch.Tensor) -> dict[str, float]:
    """Seconds per stage of the official ``parse(det, tag, True, True)``, each stage as parse runs it."""
    times = {}
    start = time.perf_counter()
    found = official.top_k(det, tag)
    times["NMS + top-k"] = time.perf_counter() - start
    start = time.perf_counter()
    ans = official.match(**found)
    times["match_by_tag"] = time.perf_counter() - start
    start = time.perf_counter()
    ans = official.adjust(ans, det)
    times["adjust"] = time.perf_counter() - start
    start = time.perf_counter()
    people = ans[0]
    for index in range(len(people)):  # parse's refine loop: the maps converted per person
        det_numpy, tag_numpy = det[0].cpu().numpy(), tag[0].cpu().numpy()
        people[index] = official.refine(det_numpy, tag_numpy, people[index])
    times["refine"] = time.perf_counter() - start
    return times


def posekit_stages(heatmaps: np.ndarray, tags: np.ndarray, config: GroupingConfig) -> dict[str, float]:
    """Seconds per stage of ``group_people(heatmaps, tags, config)`` (its private steps, in its order)."""
    times = {}
    start = time.perf_counter()
    det, tag = ae_grouping._check_inputs(heatmaps, tags, config)
    peaks, pooled = ae_grouping._top_k_peaks(det, config)
    times["NMS + top-k"] = time.perf_counter() - start  # including the input checks
    start = time.perf_counter()
    people = ae_grouping._match_by_tag(peaks, tag, det.shape[2], config)
    times["match_by_tag"] = time.perf_counter() - start
    start = time.perf_counter()
    ae_grouping._adjust(people, det)
    times["adjust"] = time.perf_counter() - start
    start = time.perf_counter()
    ae_grouping._refine(people, det, tag, peaks, pooled, config)
    times["refine"] = time.perf_counter() - start
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout", help="an exported HigherHRNet checkout (holding lib/core/group.py)")
    parser.add_argument("--munkres", required=True, help="folder holding munkres.py of munkres==1.1.4")
    parser.add_argument("--cases", type=int, default=10, help="random cases per scenario")
    parser.add_argument("--flip-cases", type=int, default=3, help="cases for the (slow) flip scenario")
    args = parser.parse_args(argv)

    sys.path[:0] = [args.munkres, str(Path(args.checkout) / "lib")]
    import munkres
    from core import group  # the official lib/core/group.py

    if munkres.__version__ != "1.1.4":
        raise SystemExit(f"{args.munkres} holds munkres {munkres.__version__}, expected 1.1.4")
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    official = official_parser(group)
    config = GroupingConfig(num_joints=NUM_JOINTS)

    rows, stage_rows = [], []
    for label, people, columns, refine in SCENARIOS:
        cases = args.flip_cases if columns > 1 else args.cases
        official_times, posekit_times, identical = [], [], 0
        found = []
        for case in range(cases):
            heatmaps, tags, _ = synthetic_ae_maps(
                people, size=SIZE, sigma=6.0, tag_columns=columns, missing=0.15, seed=1000 * people + case
            )
            det, tag = torch.from_numpy(heatmaps)[None], torch.from_numpy(tags)[None]  # (1, K, H, W), (1, K, H, W, L)

            results: dict[str, tuple[np.ndarray, list]] = {}
            for name in ("official", "posekit") if case % 2 == 0 else ("posekit", "official"):
                start = time.perf_counter()
                if name == "official":
                    ans, scores = official.parse(det, tag, True, refine)
                    results[name] = (np.asarray(ans[0], dtype=np.float32), scores)
                    official_times.append(time.perf_counter() - start)
                else:
                    results[name] = group_people(heatmaps, tags, config, adjust=True, refine=refine)
                    posekit_times.append(time.perf_counter() - start)
            (ref_people, ref_scores), (our_people, our_scores) = results["official"], results["posekit"]
            if ref_people.size == 0:
                ref_people = ref_people.reshape(0, NUM_JOINTS, 3 + columns)
            identical += (
                ref_people.shape == our_people.shape
                and np.array_equal(ref_people.view(np.uint32), our_people.view(np.uint32))
                and [float(score) for score in ref_scores] == our_scores
            )
            found.append(our_people.shape[0])
            if refine and case < 3:
                stage_rows.append((label, official_stages(official, det, tag), posekit_stages(heatmaps, tags, config)))
        official_s, posekit_s = statistics.median(official_times), statistics.median(posekit_times)
        rows.append((label, statistics.median(found), official_s, posekit_s, official_s / posekit_s, identical, cases))
        print(f"{label}: done", file=sys.stderr)

    print(f"17 joints, maps {SIZE[1]}x{SIZE[0]}, one thread, torch {torch.__version__}, numpy {np.__version__}")
    print("| scenario | people found | official HeatmapParser (s) | posekit group_people (s) | speed-up | identical |")
    print("|---|---|---|---|---|---|")
    for label, found_median, official_s, posekit_s, ratio, identical, cases in rows:
        times = f"{official_s:.3f} | {posekit_s:.4f} | {ratio:.1f}x"
        print(f"| {label} | {found_median:.0f} | {times} | {identical}/{cases} |")
    print()
    print("Where the time goes (ms, median of the first 3 cases; official | posekit):")
    stages = ("NMS + top-k", "match_by_tag", "adjust", "refine")
    print("| scenario | " + " | ".join(stages) + " |")
    print("|---|" + "---|" * len(stages))
    for label in dict.fromkeys(label for label, _, _ in stage_rows):
        cells = []
        for stage in stages:
            official_ms = statistics.median(o[stage] for lab, o, _ in stage_rows if lab == label) * 1e3
            posekit_ms = statistics.median(p[stage] for lab, _, p in stage_rows if lab == label) * 1e3
            cells.append(f"{official_ms:.1f} \\| {posekit_ms:.1f}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
