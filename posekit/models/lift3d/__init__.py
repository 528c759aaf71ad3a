"""2D-to-3D lifting models (VideoPose3D temporal convolutions, trajectory model)."""
