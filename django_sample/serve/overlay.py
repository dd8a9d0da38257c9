"""The settings djbench deploys a project of the user's with (an `app:` block in a scenario):
DJANGO_SETTINGS_MODULE=serve.overlay, the project's own settings module in
DJBENCH_PROJECT_SETTINGS.

Everything of the project's settings is kept. On top, only what djbench measures through:
- its probe app `bench` (/_djbench/env, task accounting, task workers' heartbeats; its tables
  live in the run's database, which djbench migrates after the project's own set-up);
- the header naming the web worker that served each response;
- loopback in ALLOWED_HOSTS, since djbench's load comes from 127.0.0.1;
- the mode's task backend, only when djbench swaps it in (DJBENCH_TASKS set): the project
  uses django.tasks with one of Django's built-in backends, which run no task in a worker.
  A project that brings its own backend keeps it, and the report names it.
- django_tasks_db in INSTALLED_APPS, only when that backend is swapped in
  (DJBENCH_TASKS=database) and the project does not list it already: a project that never
  runs it should not see an app of djbench's choosing. Its table then needs
  `migrate django_tasks_database` (its app label) with DJBENCH_TASKS=database set.
"""

import os
from importlib import import_module

from serve import taskbackends

_project = import_module(os.environ["DJBENCH_PROJECT_SETTINGS"])
# Django reads upper-case names only (django.conf.Settings does the same).
globals().update({name: value for name, value in vars(_project).items() if name.isupper()})

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F821 (from the project's settings)
MIDDLEWARE = ["bench.middleware.worker_header", *MIDDLEWARE]  # noqa: F821

DJBENCH_PROJECT_URLCONF = ROOT_URLCONF  # noqa: F821
ROOT_URLCONF = "serve.urls"

if "*" not in ALLOWED_HOSTS:  # noqa: F821
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, "127.0.0.1", "localhost"]  # noqa: F821

# The probe views read it; no fault is ever injected into a user's project.
DJBENCH_FAULTS = frozenset()

if os.environ.get("DJBENCH_TASKS"):
    TASKS = {
        **globals().get("TASKS", {}),
        "default": taskbackends.backend(os.environ["DJBENCH_TASKS"]),
    }
    globals().update(taskbackends.CELERY)
    if os.environ["DJBENCH_TASKS"] == "database" and not any(
        app == taskbackends.DATABASE_APP or app.startswith(taskbackends.DATABASE_APP + ".")
        for app in INSTALLED_APPS
    ):
        INSTALLED_APPS = [*INSTALLED_APPS, taskbackends.DATABASE_APP]
