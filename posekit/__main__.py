"""``python -m posekit`` runs the ``posekit`` command."""

from posekit.cli.main import entry_point

entry_point()
