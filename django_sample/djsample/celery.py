"""The Celery application of the gunicorn_celery mode.

Celery's Django fix-up sets Django up in the worker; CELERY_IMPORTS (the sample) or the
autodiscovery of each installed app's `tasks` module (a user's project) makes it import the
task modules, whose @task functions the django-tasks-celery backend registers with this app.
Its settings, the delivery guarantees among them (acks early or late, the visibility timeout),
come from serve/taskbackends.py's CELERY through Django's settings.
"""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djsample.settings")

app = Celery("djsample")
app.config_from_object("django.conf:settings", namespace="CELERY")
# A user's project (serve.overlay) lists no CELERY_IMPORTS: the `tasks` module of each installed
# app is imported instead, where @task functions live in a Django project.
app.autodiscover_tasks()


@worker_process_init.connect
def _report_ready(**kwargs):
    """Each prefork child says it can take tasks (djbench waits for all of them)."""
    from bench.models import WorkerHeartbeat

    WorkerHeartbeat.report("celery")
