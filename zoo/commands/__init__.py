"""The commands of ``python -m zoo`` (one module each, ``run(args)``); ``zoo.cli`` parses the command
line and dispatches here. ``common`` holds what the commands share: input errors, output, ``--quick``."""
