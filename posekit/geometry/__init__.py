"""Pure batched geometry: boxes, affine crops (incl. UDP), cameras with distortion, rotations, Procrustes."""
