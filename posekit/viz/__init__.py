"""Visualisation: 2D overlays and 3D skeleton plots, headless."""
