"""The applications every launcher and server of every mode serves: the project's own,
loaded the way each mode needs it. `application` is its WSGI application, `asgi_application`
its ASGI one (a scenario's `interface:` picks which one a server is given).

It watches imports before Django loads anything (so the module that turns the GIL back on
is named), loads the project's WSGI application (DJBENCH_WSGI as `module:attr`, or else the
WSGI_APPLICATION its settings name) and its ASGI application (DJBENCH_ASGI as `module:attr`,
a scenario's `app.asgi`, or else Django's get_asgi_application over the same settings:
`ASGI_APPLICATION` is not a Django setting, so there is none to read),
starts task workers that run inside the serving process, and refuses to serve free_threaded
with the GIL on. The sample project and a user's project (`app:` in a scenario, settings from
serve.overlay) load through the same lines.

Both are built whichever one is served: building one is loading the middleware, and having
both means every server names this module the same way.
"""

import os
from importlib import import_module

from bench import freethreading

freethreading.watch()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djsample.settings")


def _named(variable):
    """The application a `module:attr` in the environment names, or None when unset."""
    target = os.environ.get(variable)
    if not target:
        return None
    module, _, attr = target.partition(":")
    return getattr(import_module(module), attr or "application")


def _load():
    app = _named("DJBENCH_WSGI")
    if app is not None:
        return app
    from django.conf import settings
    from django.utils.module_loading import import_string

    return import_string(settings.WSGI_APPLICATION)


def _load_asgi():
    """The project's ASGI application (DJBENCH_ASGI), else Django's ASGI handler; with
    DJBENCH_ASGI_THREADS=W (set by the free_threaded and subinterpreters launchers), Django's
    sync code runs on W threads (serve.asgithreads says why)."""
    app = _named("DJBENCH_ASGI")
    if app is None:
        from django.core.asgi import get_asgi_application

        app = get_asgi_application()
    threads = os.environ.get("DJBENCH_ASGI_THREADS")
    if threads:
        from serve.asgithreads import SyncThreads

        app = SyncThreads(app, int(threads))
    return app


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
asgi_application = _load_asgi()
_start_task_workers()
freethreading.require_if_asked()
