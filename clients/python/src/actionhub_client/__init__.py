"""Ask ActionHub before an agent acts.

from actionhub_client import Client
with Client() as hub:                      # ACTIONHUB_URL, ACTIONHUB_TOKEN
    action = hub.submit_tool_call("Bash", {"command": "rm -rf build"})
    action = hub.wait(action.id, timeout=300)
    if action.approved: ...
"""

from actionhub_client.approval import require_approval
from actionhub_client.client import VERSION, AsyncClient, Client
from actionhub_client.errors import (
    ActionDenied,
    ActionHubError,
    APIError,
    AuthenticationFailed,
    BadRequest,
    ConfigurationError,
    Conflict,
    ConnectionFailed,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
)
from actionhub_client.models import Action, Decision

__version__ = VERSION

__all__ = [
    "APIError",
    "Action",
    "ActionDenied",
    "ActionHubError",
    "AsyncClient",
    "AuthenticationFailed",
    "BadRequest",
    "Client",
    "ConfigurationError",
    "Conflict",
    "ConnectionFailed",
    "Decision",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "__version__",
    "require_approval",
]
