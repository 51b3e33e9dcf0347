"""api_call: one HTTP request to a URL under ACTIONHUB_API_ALLOWLIST, sent by a worker."""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings

from approvals.kinds.base import ActionKind, Classification, Errors, HandlerError, Reversibility, check_keys, clip
from approvals.models import Action, SecurityLevel
from approvals.outbound import OutboundError, request_preview, send_request
from lib.urlnorm import InvalidURL, normalize_url, url_allowed

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_FORBIDDEN_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "upgrade"}
# A header whose name contains one of these carries a credential: its value is never shown.
SECRET_HEADER = re.compile(r"auth|cookie|token|secret|password|passwd|api[-_]?key|session|signature|credential", re.I)
METHOD_REVERSIBILITY = {
    "GET": ("reversible", "a GET only reads"),
    "HEAD": ("reversible", "a HEAD only reads"),
    "PUT": ("partial", "a PUT replaces a resource; the server may or may not keep the old one"),
    "PATCH": ("partial", "a PATCH changes part of a resource; undoing it needs the old values"),
    "POST": ("irreversible", "a POST may create or trigger something the remote side cannot take back"),
    "DELETE": ("irreversible", "a DELETE removes a resource on the remote side"),
}


def mask_header(name: str, value: str) -> str:
    if not SECRET_HEADER.search(name):
        return value
    scheme = value.split(" ", 1)[0] if " " in value else ""
    return f"{scheme + ' ' if scheme else ''}•••••• (hidden, {len(value)} characters)"


def _check_url(parameters: dict[str, Any], errors: Errors) -> None:
    """Check the url and store it in its normal form, so what reviewers approve, the payload hash
    and the request sent all name the same URL."""
    url = parameters["url"]
    if not isinstance(url, str) or len(url) > 4096:
        errors["url"] = "must be a URL string"
        return
    try:
        normal = normalize_url(url).text
    except InvalidURL as exc:
        errors["url"] = str(exc)
        return
    if not url_allowed(normal, settings.ACTIONHUB_API_ALLOWLIST):
        errors["url"] = "is not under any ACTIONHUB_API_ALLOWLIST entry"
    parameters["url"] = normal


class ApiCallKind(ActionKind):
    name = "api_call"
    label = "API call"
    screens_parameters = True

    def schema(self, *, skill_id: str | None = None) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "method": {"enum": list(HTTP_METHODS)},
                "url": {"type": "string", "minLength": 1, "format": "uri"},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "json": {},
            },
            "required": ["method", "url"],
            "additionalProperties": False,
        }

    def validate(self, parameters: dict[str, Any], errors: Errors, *, skill_id: str | None = None) -> None:
        check_keys(parameters, errors, required=("method", "url"), optional=("headers", "json"))
        if "method" in parameters and parameters["method"] not in HTTP_METHODS:
            errors["method"] = f"must be one of {', '.join(HTTP_METHODS)}"
        if "url" in parameters:
            _check_url(parameters, errors)
        headers = parameters.get("headers")
        if "headers" in parameters:
            if not isinstance(headers, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
            ):
                errors["headers"] = "must be an object of string values"
            elif forbidden := sorted(k for k in headers if k.lower() in _FORBIDDEN_HEADERS):
                errors["headers"] = f"may not set {', '.join(forbidden)}"
        if "json" in parameters and parameters.get("method") in ("GET", "HEAD"):
            errors["json"] = "a GET or HEAD request has no body"

    def classify(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Classification:
        return Classification(SecurityLevel.MEDIUM, [f"{self.name} is medium by policy"])

    def reversibility(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Reversibility:
        method = str(parameters.get("method", "")).upper()
        return Reversibility(*METHOD_REVERSIBILITY.get(method, ("irreversible", f"unknown method {method!r}")))

    def idempotent(self, parameters: dict[str, Any]) -> bool:
        return parameters.get("method") in ("GET", "HEAD")

    def summary(self, action: Action) -> str:
        parameters = action.parameters or {}
        return clip(f"{parameters.get('method', '').upper()} {parameters.get('url', '')}")

    def known_failure(self, action: Action) -> str | None:
        url = (action.parameters or {}).get("url")
        try:
            normal = normalize_url(url).text
        except InvalidURL:
            return "Its URL is not valid any more, so the request would not be sent."
        if not url_allowed(normal, settings.ACTIONHUB_API_ALLOWLIST):
            return "Its URL is no longer under ACTIONHUB_API_ALLOWLIST, so the request would be refused."
        return None

    def changes(self, action: Action) -> dict[str, Any]:
        return {"request": self.request(action)}

    def request(self, action: Action) -> dict[str, Any]:
        """The request exactly as it will be sent (to the normal form of its URL, as `run` sends
        it), credentials masked."""
        parameters = action.parameters or {}
        try:
            request = request_preview(
                method=parameters.get("method", "GET"),
                url=normalize_url(parameters.get("url")).text,
                headers=parameters.get("headers") or {},
                body=parameters.get("json"),
            )
        except InvalidURL as exc:
            return {"error": f"the request cannot be built: its url {exc}"}
        except OutboundError as exc:
            return {"error": str(exc)}
        headers = [(name, mask_header(name, value)) for name, value in request["headers"]]
        body = request["body"]
        if "json" in parameters:
            body = json.dumps(parameters["json"], indent=2, sort_keys=True, ensure_ascii=False)
        return {**request, "headers": headers, "body": body}

    def run(self, action: Action) -> dict[str, Any]:
        parameters = action.parameters
        try:
            url = normalize_url(parameters["url"]).text
        except InvalidURL as exc:
            raise HandlerError(f"url {exc}") from exc
        # Checked again at run time, on exactly the URL sent: the allowlist may have shrunk since.
        if not url_allowed(url, settings.ACTIONHUB_API_ALLOWLIST):
            raise HandlerError("url is not under any ACTIONHUB_API_ALLOWLIST entry")
        try:
            return send_request(
                method=parameters["method"],
                url=url,
                headers=parameters.get("headers") or {},
                body=parameters.get("json"),
            )
        except OutboundError as exc:
            raise HandlerError(str(exc)) from exc
