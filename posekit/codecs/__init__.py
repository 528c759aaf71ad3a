"""Codecs: encode keypoints to training targets and decode network outputs back to keypoints."""
