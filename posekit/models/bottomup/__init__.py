"""Bottom-up multi-person 2D models: HigherHRNet (Cheng et al., CVPR 2020) and its checkpoint loader.

* :mod:`~posekit.models.bottomup.higher_hrnet`: the network (:class:`HigherHRNet`, the official
  ``final_outputs``: heatmaps + associative-embedding tags at 1/4, heatmaps at 1/2 resolution) and
  the registered variants (``higherhrnet_w32_512`` ... ``higherhrnet_w48_640_crowdpose``, the small
  CPU ``higherhrnet_w16_256``);
* :mod:`~posekit.models.bottomup.loading`: :func:`load_bottomup_model` (official model-zoo files and
  training checkpoints, posekit checkpoints) and :func:`is_bottomup_model`.

Grouping the outputs into people is :mod:`posekit.codecs.ae_grouping`.
"""

from posekit.models.bottomup.higher_hrnet import VARIANTS, BottomUpVariant, HigherHRNet, build_higher_hrnet
from posekit.models.bottomup.loading import is_bottomup_model, load_bottomup_model

__all__ = [
    "VARIANTS",
    "BottomUpVariant",
    "HigherHRNet",
    "build_higher_hrnet",
    "is_bottomup_model",
    "load_bottomup_model",
]
