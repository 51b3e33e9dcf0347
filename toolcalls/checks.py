"""A bad ACTIONHUB_TOOL_POLICY fails at start-up, not on the first tool call it would misjudge."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from toolcalls.policy import policy_errors


@checks.register()
def check_tool_policy(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [
        checks.Error(
            f"ACTIONHUB_TOOL_POLICY {error}",
            hint='e.g. {"WebFetch": "high", "mcp__github__*": "medium", "MyShell": "bash"}',
            id="actionhub.E101",
        )
        for error in policy_errors(settings.ACTIONHUB_TOOL_POLICY)
    ]
