"""Pixora: the entry point of the studio and of the command line.

python main.py serve [--host H] [--port P]
python main.py migrate
python main.py models install|list
python main.py edit PHOTOS... --tool TOOL [--param k=v ...] -o OUT
python main.py admin create-user|set-plan|create-api-key ...
python main.py bench

Nothing heavy is imported here: each command imports what it uses when it runs
(pixora_ui/commands/), so `main.py edit` never loads NiceGUI, FastAPI or Alembic.
"""

from __future__ import annotations

import sys

from pixora_ui.settings import get_settings, is_user_simulation

# Only "__main__": with reload off nothing imports this file as "__mp_main__" on purpose, and a
# multiprocessing child (spawn) would otherwise run the command line again.
if __name__ == "__main__":
    if is_user_simulation():
        # NiceGUI's simulated `user` test fixture runs this file; serve the app without the CLI.
        from pixora_ui.server import run_server

        run_server(get_settings())
    else:
        from pixora_ui.cli import main as cli_main

        sys.exit(cli_main(sys.argv[1:]))
