#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    # Commands that never sign anything (migration checks, help) run without a SECRET_KEY, so
    # a checkout can be checked before it is configured; serving still requires one.
    if len(sys.argv) > 1 and sys.argv[1] in {"makemigrations", "check", "help"}:
        os.environ.setdefault("SECRET_KEY", "unused-by-offline-commands")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
