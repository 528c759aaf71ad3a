"""The ``posekit`` command. Each subcommand is a module with ``main(argv) -> int``."""
