from django.urls import path

from bench import async_views, views

urlpatterns = [
    path("hello", views.hello),
    path("db", views.db),
    path("template", views.template),
    path("cpu", views.cpu),
    path("io", views.io),
    path("enqueue", views.enqueue),
    # async def twins of /io, /db and /cpu (bench/async_views.py).
    path("async/io", async_views.io),
    path("async/db", async_views.db),
    path("async/cpu", async_views.cpu),
    # Under a prefix no application of the user's would use.
    path("_djbench/env", views.env),
    path("_djbench/tasks", views.tasks),
    path("_djbench/broker", views.broker),
]
