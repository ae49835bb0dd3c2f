"""Gunicorn settings of the portal (read from the working directory: ``gunicorn 'portal:create_app()'``).

Every value can be overridden by an environment variable (``GUNICORN_WORKERS``…) or on the command line.
"""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Threads overlap the database round trips; processes use the cores. Each worker has its own
# SQLAlchemy pool (5 + 10 overflow): workers × 15 must stay below PostgreSQL's max_connections.
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# Big downloads are streamed; 60 s bounds a stuck request, then the worker is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (bounded memory growth of long-lived processes).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = max_requests // 10
# Heartbeat files in memory: a slow or full disk never gets a healthy worker killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# The client's address and scheme come from the reverse proxy through ProxyFix
# (OVA_TRUSTED_PROXIES), not from gunicorn's own forwarded-header handling.
forwarded_allow_ips = "127.0.0.1"


def post_worker_init(worker):
    """Load the personal data detector (spaCy's French model) before the worker's first report needs it."""
    from ova import pii

    pii.warm_up()
