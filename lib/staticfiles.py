"""WhiteNoise's static file middleware, able to sit in an async middleware chain.

WhiteNoise is synchronous only, so Django would run every async request (and view) behind it on
a thread. This one serves static files as WhiteNoise does and hands every other request on in the
caller's mode: no thread hop for an async view.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from whitenoise.middleware import WhiteNoiseMiddleware


class AsyncWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(get_response, *args, **kwargs)
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request: HttpRequest) -> Any:
        static_file = self.find_file(request.path_info) if self.autorefresh else self.files.get(request.path_info)
        if static_file is not None:
            # Opening and stat-ing the file blocks; the event loop must not.
            return await asyncio.to_thread(self.serve, static_file, request)
        return await self.get_response(request)
