"""Record the official HigherHRNet ``HeatmapParser.parse`` outputs on synthetic maps (run once, not in CI).

``tests/codecs/test_ae_grouping.py`` checks that :func:`posekit.codecs.ae_grouping.group_people`
returns exactly these outputs (same people, joints, scores and order, float32 bit-identical). The
official ``lib/core/group.py`` (HRNet/HigherHRNet-Human-Pose-Estimation aa23881) is imported from a
checkout the user points at, with ``munkres==1.1.4``; ``Params`` gets a plain namespace standing in
for the yacs config (the keys group.py reads).

Inputs are synthetic (:func:`posekit.codecs.ae_grouping.synthetic_ae_maps`: Gaussian peaks per
joint, per-person tags, uniform heatmap noise and Gaussian tag noise) or built by hand, small
(at most 17 x 32 x 48), their noise drawn from a few levels and stored as float16 (the official code
is fed exactly the stored values, converted to float32), so the fixture stays well under 1 MB; the
hand-built case is stored in float32. Cases:

* ``basic`` (17 joints, 6 people, adjust + refine) and the same maps with ``refine`` off and with
  ``adjust`` off;
* ``boundaries`` (hand-built, 3 joints): a score of exactly ``float32(0.1)`` (kept: the official
  compares in float64) next to the float32 just below (dropped); tag distances of exactly 1.0 (not
  matched) and just below (matched) in a tied Munkres choice; quarter offsets with equal neighbours
  (the tie goes ``-0.25``), a higher neighbour and the map border; a refilled joint of score 0.05
  and a joint left empty because its best refine score is 0;
* ``colliding_keys`` (hand-built, 2 joints, L = 2): two people with the same key merge and the
  official restarts the tag list, which decides whether a later joint joins them;
* ``quarter_ties``: noise-free Gaussians centred on pixels, so every adjust compares equal neighbours;
* ``refill``: half of the joints missing, refine fills them;
* ``crowd``: 40 people (more than the 30 kept per joint type and matched against);
* ``tied_scores``: heatmaps quantised to 1/8 so that many peaks tie (torch.topk's order decides);
* ``colliding_tags``: L = 2, people sharing the exact first tag value (the official dict key) but not
  the second: keys collide, the official merges the people and restarts the tag list;
* ``empty``: noise below the threshold only;
* ``shared_tag``: ``tag_per_joint`` False (one tag map);
* ``crowdpose``: 14 joints (the official joint order's first 14 entries);
* ``flip``: ``L = 2`` tag columns;
* ``ignore_too_much``: 35 people with ``ignore_too_much`` on; ``plain_distance``: ``use_detection_val`` off.

Stored in ``tests/fixtures/official/grouping_golden.npz`` without pickles: per case
``<case>/heatmaps``, ``<case>/tags``, ``<case>/people`` (the official ``ans[0]`` as float32, ``(M, K, D)``),
``<case>/scores`` (float32) and ``<case>/config`` (JSON: the GroupingConfig fields, adjust, refine).

Run::

    mkdir -p /tmp/hhrnet && git -C <official git dir> archive HEAD | tar -x -C /tmp/hhrnet
    PYTHONPATH=$PWD .venv/bin/python benchmarks/record_grouping_golden.py /tmp/hhrnet --munkres /work/ref-munkres
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from posekit.codecs.ae_grouping import synthetic_ae_maps

SIZE = (48, 32)  # (W, H)


def official_parser(group_module: Any, config: dict[str, Any]) -> Any:
    """The official HeatmapParser for ``config`` (GroupingConfig field names), via a namespace cfg."""
    cfg = SimpleNamespace(
        DATASET=SimpleNamespace(
            NUM_JOINTS=config["num_joints"], MAX_NUM_PEOPLE=config.get("max_num_people", 30), WITH_CENTER=False
        ),
        MODEL=SimpleNamespace(TAG_PER_JOINT=config.get("tag_per_joint", True)),
        TEST=SimpleNamespace(
            DETECTION_THRESHOLD=config.get("detection_threshold", 0.1),
            TAG_THRESHOLD=config.get("tag_threshold", 1.0),
            USE_DETECTION_VAL=config.get("use_detection_val", True),
            IGNORE_TOO_MUCH=config.get("ignore_too_much", False),
            IGNORE_CENTER=True,
            NMS_KERNEL=5,
            NMS_PADDING=2,
        ),
    )
    return group_module.HeatmapParser(cfg)


def boundary_maps() -> tuple[np.ndarray, np.ndarray]:
    """The hand-built ``boundaries`` case: 3 joints on a 24 x 16 map, L = 1 (see the module docs)."""
    width, height = 24, 16
    det = np.zeros((3, height, width), dtype=np.float32)
    tag = np.zeros((3, height, width, 1), dtype=np.float32)
    tenth = np.float32(0.1)
    below_tenth = np.nextafter(tenth, np.float32(0))
    # joint 0: A (equal neighbours), B = float32(0.1) with a higher right neighbour, C just below 0.1
    # (dropped), D in the corner (border clamp).
    det[0, 5, 5], tag[0, 5, 5] = 1.0, 0.0
    det[0, 5, 15], tag[0, 5, 15] = tenth, 5.0
    det[0, 5, 16] = 0.05
    det[0, 12, 20], tag[0, 12, 20] = below_tenth, 10.0
    det[0, 0, 0], tag[0, 0, 0] = 0.9, 20.0
    det[0, 0, 1] = 0.2  # suppressed by D; D's higher right neighbour
    # joint 1: tag 1.0 (distance exactly 1 to A's person) and 0.99999994 (just below): tied costs.
    det[1, 6, 6], tag[1, 6, 6] = 0.8, 1.0
    det[1, 10, 9], tag[1, 10, 9] = 0.7, np.nextafter(np.float32(1), np.float32(0))
    det[1, 10, 10] = 0.7  # a plateau: both pixels equal their max-pool, so both are (tied) candidates
    # joint 2: nothing detected; a sub-threshold response where the tag is B's person's -> refilled.
    det[2, 3, 18], tag[2, 3, 18] = 0.05, 5.0
    det[2, 3, 19] = 0.03
    return det, tag


def colliding_key_maps() -> tuple[np.ndarray, np.ndarray]:
    """The hand-built ``colliding_keys`` case: 2 joints on a 24 x 16 map, L = 2.

    Joint 0: P (tags (0, 0), score 0.9) and Q (tags (0, 3), score 0.8) share the key 0, so the
    official dict holds one person: Q's joint, tag list restarted as [Q's tags]. Joint 1: R (tags
    (0.5, 2.5)) is 0.71 from that list's mean (0, 3) and joins the person; had the list kept P's
    tags too (mean (0, 1.5), distance 1.12) R would start a new person.
    """
    det = np.zeros((2, 16, 24), dtype=np.float32)
    tag = np.zeros((2, 16, 24, 2), dtype=np.float32)
    det[0, 4, 4], tag[0, 4, 4] = 0.9, (0.0, 0.0)
    det[0, 10, 16], tag[0, 10, 16] = 0.8, (0.0, 3.0)
    det[1, 8, 10], tag[1, 8, 10] = 0.7, (0.5, 2.5)
    return det, tag


def cases() -> list[tuple[str, dict[str, Any], np.ndarray, np.ndarray]]:
    """(name, config incl. adjust/refine, heatmaps, tags) for every recorded case."""
    out: list[tuple[str, dict[str, Any], np.ndarray, np.ndarray]] = []

    def synthetic(name: str, people: int, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        config = {"num_joints": kwargs.get("num_joints", 17), "adjust": True, "refine": True, **(config or {})}
        noise, tag_noise = kwargs.pop("noise", 0.02), kwargs.pop("tag_noise", 0.05)
        exact_first_column = kwargs.pop("exact_first_column", False)
        det, tag, _ = synthetic_ae_maps(people, size=SIZE, noise=0.0, tag_noise=0.0, **kwargs)
        # Few-level noise (compresses well, exact in float16): heatmaps up to `noise`, tags +-2 sigma.
        rng = np.random.default_rng(kwargs.get("seed", 0) + 1000)
        det = np.maximum(det, rng.integers(0, 9, det.shape) * np.float32(noise / 8))
        tag_jitter = rng.integers(-4, 5, tag.shape) * np.float32(tag_noise / 2)
        if exact_first_column:
            tag_jitter[..., 0] = 0  # the person keys (first tag column) collide exactly
        tag = tag + tag_jitter
        out.append((name, config, det.astype(np.float32), tag.astype(np.float32)))

    synthetic("basic", 6, seed=1)
    synthetic("basic_no_refine", 6, {"refine": False}, seed=1)
    synthetic("basic_no_adjust", 6, {"adjust": False}, seed=1)
    det, tag = boundary_maps()
    out.append(("boundaries", {"num_joints": 3, "adjust": True, "refine": True}, det, tag))
    det, tag = colliding_key_maps()
    out.append(("colliding_keys", {"num_joints": 2, "adjust": True, "refine": True}, det, tag))
    synthetic("quarter_ties", 4, seed=2, noise=0.0, tag_noise=0.0)
    synthetic("refill", 5, seed=3, missing=0.5)
    synthetic("crowd", 40, seed=4, sigma=1.0)  # more than 30 people
    synthetic("tied_scores", 12, seed=5, sigma=1.5)
    name, config, tied_det, tied_tag = out.pop()
    out.append((name, config, np.round(tied_det * 8) / 8, tied_tag))
    collide = np.array([[0.0, 0.0], [0.0, 3.0], [3.0, 0.0], [3.0, 3.0], [6.0, 6.0]], dtype=np.float32)
    synthetic("colliding_tags", 5, seed=6, person_tags=collide, tag_columns=2, tag_noise=0.3, exact_first_column=True)
    synthetic("empty", 0, seed=7, noise=0.09)
    synthetic("shared_tag", 5, {"tag_per_joint": False}, seed=8, tag_per_joint=False)
    synthetic("crowdpose", 5, seed=9, num_joints=14)
    synthetic("flip", 5, seed=10, tag_columns=2)
    synthetic("ignore_too_much", 35, {"ignore_too_much": True}, seed=11, sigma=1.0)
    synthetic("plain_distance", 6, {"use_detection_val": False}, seed=12)
    return out


def storable(array: np.ndarray, exact: bool) -> np.ndarray:
    """float32 for the hand-built values (``exact``), else float16 (what is stored is what the official gets)."""
    return np.asarray(array, dtype=np.float32 if exact else np.float16)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout", help="an exported HigherHRNet checkout (holding lib/core/group.py)")
    parser.add_argument("--munkres", required=True, help="folder holding munkres.py of munkres==1.1.4")
    parser.add_argument("--out", default="tests/fixtures/official/grouping_golden.npz")
    args = parser.parse_args(argv)

    sys.path[:0] = [args.munkres, str(Path(args.checkout) / "lib")]
    import munkres
    import torch
    from core import group  # the official lib/core/group.py

    if munkres.__version__ != "1.1.4":
        raise SystemExit(f"{args.munkres} holds munkres {munkres.__version__}, expected 1.1.4")
    torch.set_num_threads(1)
    arrays: dict[str, np.ndarray] = {}
    for name, config, det, tag in cases():
        exact = name in ("boundaries", "colliding_keys")
        det_stored, tag_stored = storable(det, exact), storable(tag, exact)
        det32, tag32 = det_stored.astype(np.float32), tag_stored.astype(np.float32)
        hp = official_parser(group, config)
        ans, scores = hp.parse(
            torch.from_numpy(det32)[None], torch.from_numpy(tag32)[None], config["adjust"], config["refine"]
        )
        people = np.asarray(ans[0], dtype=np.float32)
        if people.size == 0:
            people = people.reshape(0, config["num_joints"], 3 + tag32.shape[-1])
        arrays[f"{name}/heatmaps"] = det_stored
        arrays[f"{name}/tags"] = tag_stored
        arrays[f"{name}/people"] = people
        arrays[f"{name}/scores"] = np.asarray(scores, dtype=np.float32)
        arrays[f"{name}/config"] = np.array(json.dumps(config))
        fractions = np.unique(np.round(people[people[:, :, 2] > 0][:, :2] % 1, 2)) if people.size else []
        print(
            f"{name:16s} people {people.shape[0]:3d}  joints {int((people[:, :, 2] > 0).sum()):4d}  "
            f"coordinate fractions {list(fractions)}"
        )
    arrays["source"] = np.array(
        "official HigherHRNet lib/core/group.py HeatmapParser.parse (aa23881), munkres 1.1.4, torch "
        f"{torch.__version__}, numpy {np.__version__}; benchmarks/record_grouping_golden.py"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)  # type: ignore[arg-type]
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
