"""Keypoint formats: names, links, flip pairs by name, OKS sigmas, body-part groups; conversion by name."""
