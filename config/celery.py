"""The Celery application. Workers and beat start with ``celery -A config worker|beat``."""

import os

from celery import Celery

from config.env import load_run_env

# Imported with the config package, so this also runs before anything reads the settings.
load_run_env()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("orderguard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
