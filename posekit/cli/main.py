"""``posekit`` entry point: dispatch to subcommand modules, turn bad input into one line.

Subcommand modules are imported only when used, so ``posekit --help`` is fast. Each module
``posekit.cli.<name>`` defines ``main(argv: list[str]) -> int``; its own ``--help`` explains
every option. Library code raises ``ValueError`` (bad input) or ``OSError`` (unreadable or
missing file); here that becomes ``posekit <command>: error: <message>`` on stderr and exit 2,
never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

# name -> (module, one-line description). The order is the order of ``posekit --help``.
COMMANDS: dict[str, tuple[str, str]] = {
    "predict": ("posekit.cli.predict", "detect people and their keypoints in images, folders and videos"),
    "merge": ("posekit.cli.merge", "join the predictions.json files of runs over different inputs into one"),
    "evaluate": ("posekit.cli.evaluate", "evaluate predictions (COCO AP, PCKh, MPJPE) or a trained model"),
    "train": ("posekit.cli.train", "train a model from a config file"),
    "export": ("posekit.cli.export", "export a model (ONNX)"),
    "synth": ("posekit.cli.synth", "render a synthetic people dataset (COCO format) from motion capture"),
    "demo": ("posekit.cli.demo", "run the pose pipeline on a sample photo shipped by a dependency"),
    "info": ("posekit.cli.info", "print version, torch, device, optional backends and registered models"),
}


class CommandError(Exception):
    """Raised by a subcommand for a user-facing failure; the message is printed as one line."""


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        "usage: posekit [-h] [--version] COMMAND [ARGS...]",
        "",
        "Human pose estimation: 2D and 3D keypoints from images and videos, training and evaluation.",
        "",
        "commands:",
    ]
    lines += [f"  {name.ljust(width)}  {description}" for name, (_, description) in COMMANDS.items()]
    lines += ["", "Run `posekit COMMAND --help` for the options of a command."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``posekit`` with ``argv`` (defaults to ``sys.argv[1:]``); return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if args else 2
    if args[0] == "--version":
        from posekit import __version__

        print(f"posekit {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"posekit: error: unknown command {name!r}; expected one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    try:
        return int(module.main(rest))
    except (ValueError, OSError, CommandError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"posekit {name}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"posekit {name}: interrupted", file=sys.stderr)
        return 130


def entry_point() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
