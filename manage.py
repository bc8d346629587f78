#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    from config.env import load_run_env

    # run/env (written by `make setup` / `make run`) gives commands typed by hand the same
    # development defaults as `make run`; real environment variables win.
    load_run_env()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
