"""gunicorn settings of the gunicorn_celery mode (bind, workers and worker class come from
djbench's command line). The same under ASGI (`-k uvicorn_worker.UvicornWorker
serve.entry:asgi_application`): uvicorn's worker takes the timeouts and log settings below,
and the worker header is async middleware, so nothing here depends on the interface."""

# The control socket would land in ~/.gunicorn; nothing here uses it.
control_socket_disable = True
accesslog = None
errorlog = "-"
loglevel = "warning"
# Workers are killed after this long without a heartbeat; /io and /cpu can be slow on purpose.
timeout = 120
graceful_timeout = 5
