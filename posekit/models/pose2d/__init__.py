"""2D single-person models: regression, heatmap and hybrid families."""
