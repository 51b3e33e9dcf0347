"""What the lifecycle announces to the apps that act on it, so it never imports them.

Every signal is sent inside the transaction that made the change, so a receiver's rows commit or
roll back with it and the change costs one durable commit; a receiver must only write rows there
(a task row, an outbox entry; a Postgres NOTIFY, which is delivered at commit) and leave anything
outbound to `on_commit`.

`action_approved` and `action_held` carry the action's id: the worker app queues an approved
action; a held one already carries its reviewers' notice (`Action.notice_due`), whose trigger
(notifications migration 0002) wakes the workers that take it, so nothing of ours listens to
`action_held` any more. `action_settled` carries the action as written, when it is decided or
finished.
"""

from __future__ import annotations

from django.dispatch import Signal

action_approved = Signal()  # action_id, action_type: approved, a worker runs it if its kind executes
action_held = Signal()  # action_id: held (or edited while held), reviewers should look
# action, event: "action.decided" (pending -> approved, rejected, expired or cancelled) or
# "action.finished" (-> completed or failed), inside the transaction that made the change
action_settled = Signal()
