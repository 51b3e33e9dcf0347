"""ASGI entry point: one server for HTTP and websockets (session-authenticated, same-origin only).

Django's native ASGI path hops threads once per middleware (~30 hops, +4 ms a request), so
ordinary HTTP requests run through the WSGI handler on a thread pool instead: one hop each.
Views that wait asynchronously (POST /api/chat, GET /api/actions/{id}/wait) take the native ASGI
path, whose synchronous parts run on a few shared threads (lib.asgi), so waiting requests hold no
thread each.
"""

from __future__ import annotations

import os
import re

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "actionhub.settings")

from lib.asgi import get_waiting_asgi_application

django_asgi_app = get_waiting_asgi_application()

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import re_path  # noqa: E402

from audit.routing import websocket_urlpatterns as audit_websockets  # noqa: E402
from chat.routing import websocket_urlpatterns as chat_websockets  # noqa: E402
from realtime.security import SameOriginValidator  # noqa: E402
from review.routing import websocket_urlpatterns as review_websockets  # noqa: E402

ASYNC_PATHS = re.compile(r"/api/(chat|actions/[^/]+/wait)")
threaded_wsgi_app = WSGIMiddleware(get_wsgi_application(), workers=settings.ACTIONHUB_HTTP_THREADS)


async def http_application(scope, receive, send) -> None:
    if ASYNC_PATHS.fullmatch(scope["path"]):
        await django_asgi_app(scope, receive, send)
    else:
        await threaded_wsgi_app(scope, receive, send)


async def websocket_not_found(scope, receive, send) -> None:
    """Refuse a socket to a path nothing serves. Closing before the handshake is the one refusal
    every ASGI server carries out quietly (uvicorn answers it 403); the HTTP side stays a 404."""
    await receive()  # websocket.connect
    await send({"type": "websocket.close"})


websocket_routes = [*review_websockets, *chat_websockets, *audit_websockets, re_path(r"", websocket_not_found)]

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_routes))),
    }
)
