"""Parameter checks: one clear ValueError naming the parameter and the expected shape."""

from __future__ import annotations

import pytest
import torch

from posekit.bodymodels import SMPL


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"body_pose": torch.zeros(2, 68, dtype=torch.float64)},
            r"body_pose has shape \(2, 68\); expected \(B, 69\) or \(B, 23, 3\)",
        ),
        (
            {"global_orient": torch.zeros(2, 3)},
            r"global_orient has dtype torch.float32; expected the model's torch.float64",
        ),
        ({"betas": torch.full((1, 10), float("nan"), dtype=torch.float64)}, r"betas holds NaN or infinite values"),
        (
            {"betas": torch.zeros(1, 11, dtype=torch.float64)},
            r"betas has shape \(1, 11\); expected \(B, S\) with S <= 10",
        ),
        ({"transl": torch.zeros(2, 2, dtype=torch.float64)}, r"transl has shape \(2, 2\); expected \(B, 3\)"),
        (
            {"global_orient": torch.zeros(2, 3, dtype=torch.float64), "transl": torch.zeros(3, 3, dtype=torch.float64)},
            "different batch sizes",
        ),
        (
            {"body_pose": torch.zeros(2, 23, 3, dtype=torch.float64), "rotation": "matrix"},
            r"expected \(B, 23, 3, 3\) for rotation='matrix'",
        ),
        ({"rotation": "quaternion"}, r"rotation='quaternion'; expected one of axis_angle, matrix, 6d"),
        ({"body_pose": [0.0] * 69}, r"body_pose must be a torch.Tensor"),
    ],
)
def test_bad_parameters(model64: SMPL, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model64(**kwargs)  # type: ignore[arg-type]


def test_defaults_and_broadcast(model64: SMPL) -> None:
    output = model64(body_pose=torch.zeros(5, 23, 3, dtype=torch.float64), betas=torch.ones(1, 4, dtype=torch.float64))
    assert output.vertices.shape == (5, 120, 3) and output.betas.shape == (5, 10)
    assert output.betas[:, 4:].abs().sum() == 0 and output.transforms.shape == (5, 24, 4, 4)
