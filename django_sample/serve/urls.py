"""The URLconf of a user's project under djbench (serve.overlay): djbench's probes under
/_djbench/, then every pattern of the project's own ROOT_URLCONF, unchanged. The project's
module is imported rather than include()d, so i18n_patterns and its error handlers
(handler404 …) keep working."""

from importlib import import_module

from django.conf import settings
from django.urls import path

from bench import views

_project = import_module(settings.DJBENCH_PROJECT_URLCONF)

for _name in ("handler400", "handler403", "handler404", "handler500"):
    if hasattr(_project, _name):
        globals()[_name] = getattr(_project, _name)

urlpatterns = [
    # Under a prefix no application of the user's would use.
    path("_djbench/env", views.env),
    path("_djbench/tasks", views.tasks),
    path("_djbench/broker", views.broker),
    *_project.urlpatterns,
]
