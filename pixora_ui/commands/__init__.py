"""One module per `main.py` command.

Each module exposes `HELP` (one line for `main.py --help`), `add_arguments(parser)` and
`run(args, settings) -> int` (the exit status). A module imports only argparse at the top; what a
command needs (NiceGUI, the database, onnxruntime) is imported inside its `run`, so one command
never pays for another's imports. A command that takes options of its own after its name
(`main.py bench --repeats 5`) sets `PASS_THROUGH = True` and finds them in `args.rest`.

To add a command, write its module here and add its name to `pixora_ui.cli.COMMANDS`.
"""
