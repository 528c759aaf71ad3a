"""3D from 2D tracks: running a VideoPose3D lifter (:mod:`posekit.models.lift3d`) over people in video.

* :mod:`~posekit.inference.lift3d.sequence`: :func:`lift_sequence`, one lifter over one 2D sequence
  (official evaluation padding, chunks in bounded memory, flip test);
* :mod:`~posekit.inference.lift3d.tracks`: :func:`lift_tracks`, every tracked person of a video
  (conversion by joint name, missing keypoints filled, trajectory), and :class:`TrackCollector`;
* :mod:`~posekit.inference.lift3d.streaming`: :class:`StreamingLifter`, frame by frame as a video
  is read (causal lifters: no lag);
* :mod:`~posekit.inference.lift3d.video`: :class:`VideoLifter`, one video's tracks lifted in batch
  or streamed (what ``posekit predict --lift`` runs), and :func:`lift_people` for one image;
* :mod:`~posekit.inference.lift3d.default_lifter`: the lifter shipped with posekit.
"""
