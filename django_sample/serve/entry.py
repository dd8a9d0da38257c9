"""The WSGI application every launcher and server of every mode serves: the project's own,
loaded the way each mode needs it.

It watches imports before Django loads anything (so the module that turns the GIL back on
is named), loads the project's WSGI application (DJBENCH_WSGI as `module:attr`, or else the
WSGI_APPLICATION its settings name), starts task workers that run inside the serving process,
and refuses to serve free_threaded with the GIL on. The sample project and a user's project
(`app:` in a scenario, settings from serve.overlay) load through the same lines.
"""

import os
from importlib import import_module

from bench import freethreading

freethreading.watch()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djsample.settings")


def _load():
    target = os.environ.get("DJBENCH_WSGI")
    if target:
        module, _, attr = target.partition(":")
        return getattr(import_module(module), attr or "application")
    from django.conf import settings
    from django.utils.module_loading import import_string

    return import_string(settings.WSGI_APPLICATION)


def _start_task_workers():
    """Backends that run tasks in the serving process start their workers now, not on the
    first enqueue, so djbench sees them ready before load arrives. django-tasks-db's workers
    run here too when the launcher asks for them (DJBENCH_DB_WORKER_THREADS, set by
    serve/free_threaded.py): a server such as granian loads this module in its own worker
    process, which is where the task threads must live."""
    from django.tasks import task_backends

    start = getattr(task_backends["default"], "start", None)
    if start is not None:
        start()
    db_threads = int(os.environ.get("DJBENCH_DB_WORKER_THREADS") or 0)
    if db_threads > 0:
        from bench.backends import dbworker

        dbworker.start_threads(db_threads)


application = _load()
_start_task_workers()
freethreading.require_if_asked()
