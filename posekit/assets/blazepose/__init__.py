"""Google's BlazePose models (Apache-2.0), copied unchanged from the mediapipe 0.10.14 wheel; see PROVENANCE.md."""
