"""Domain errors of the action lifecycle; the API maps each to one HTTP status."""

from __future__ import annotations


class ActionError(Exception):
    status_code = 400

    def __init__(self, detail: str, *, errors: dict[str, str] | list[str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class InvalidParameters(ActionError):
    status_code = 400


class NotAReviewer(ActionError):
    status_code = 403


class NotAssigned(ActionError):
    """The action is routed to reviewer groups the user is not in."""

    status_code = 403


class NotRequester(ActionError):
    """Only whoever submitted an action may cancel it or report its outcome."""

    status_code = 403


class RunByActionHub(ActionError):
    """An outcome reported for an action a worker runs: the worker records that one."""

    status_code = 409


class IdempotencyKeyReused(ActionError):
    """The Idempotency-Key was sent before with a different request."""

    status_code = 422


class SelfApprovalForbidden(ActionError):
    status_code = 403


class EditedByYou(ActionError):
    """The reviewer edited the action, so they co-wrote it: another reviewer must approve it."""

    status_code = 403


class ActionNotPending(ActionError):
    status_code = 409


class ActionExpired(ActionError):
    status_code = 409


class AlreadyDecided(ActionError):
    status_code = 409


class PayloadChanged(ActionError):
    status_code = 409


class InvalidTransition(ActionError):
    status_code = 409


class InvalidRule(ActionError):
    status_code = 400


class NotARuleAdmin(ActionError):
    status_code = 403


class AllowRuleForbidden(ActionError):
    """An allow rule approves actions, so only a reviewer may write one; other rule admins write deny rules."""

    status_code = 403


class RuleNotFound(ActionError):
    status_code = 404


class RuleDisabled(ActionError):
    status_code = 409


class LinkInvalid(ActionError):
    """A one-tap link whose signature does not verify: altered, cut short, or not ours."""

    status_code = 400


class LinkExpired(ActionError):
    status_code = 400


class LinkNotYours(ActionError):
    status_code = 403


class LinkUsed(ActionError):
    status_code = 409
