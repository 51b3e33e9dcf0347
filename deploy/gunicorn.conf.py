"""gunicorn for the image's `web` role: ACTIONHUB_WEB_WORKERS uvicorn processes serving HTTP and websockets.

Every value comes from actionhub/settings.py, the one reader of the environment. On SIGTERM gunicorn
stops each process gracefully: it stops accepting, closes open websockets with 1012 (service
restart: browsers reconnect, through the proxy, to a web container still up), lets requests in
flight finish for ACTIONHUB_WEB_GRACE seconds, then cancels what is left.
"""

from __future__ import annotations

from django.conf import settings
from uvicorn_worker import UvicornWorker


class ActionHubWorker(UvicornWorker):
    CONFIG_KWARGS = {
        **UvicornWorker.CONFIG_KWARGS,
        # Channels' router has no lifespan protocol.
        "lifespan": "off",
        # Forwarded headers only from the configured proxies (see DJANGO_BEHIND_PROXY).
        "proxy_headers": settings.BEHIND_PROXY,
        "timeout_graceful_shutdown": settings.ACTIONHUB_WEB_GRACE,
    }


wsgi_app = "actionhub.asgi:application"
worker_class = ActionHubWorker
workers = settings.ACTIONHUB_WEB_WORKERS
bind = [f"0.0.0.0:{settings.ACTIONHUB_WEB_PORT}"]
# Believed only when proxy_headers is on, that is behind a proxy (DJANGO_BEHIND_PROXY).
forwarded_allow_ips = ",".join(settings.TRUSTED_PROXIES)
# The master kills a process only after its own graceful shutdown had its chance.
graceful_timeout = int(settings.ACTIONHUB_WEB_GRACE) + 5
keepalive = 5
control_socket_disable = True
# Heartbeat files in memory: a container root filesystem may be read-only or slow to fsync.
worker_tmp_dir = "/dev/shm"  # noqa: S108
loglevel = "info"
