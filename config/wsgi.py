"""WSGI entry point (the Procfiles run the ASGI one, config/asgi.py)."""

import os

from django.core.wsgi import get_wsgi_application

from config.env import load_run_env

load_run_env()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
