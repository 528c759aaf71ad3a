"""Data files shipped with posekit (model weights with their licence and provenance). No code runs here."""
