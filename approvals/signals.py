"""What the lifecycle announces to the apps that act on it, so it never imports them.

`action_approved` and `action_held` are sent once the change has committed, with the action's id:
the worker app enqueues an approved action, the notifications app tells reviewers of a held one.

`action_settled` is sent inside the transaction that decided or finished the action, with the
action as written, so a receiver's rows (an outbox of callbacks) commit or roll back with the
change; a receiver must only write rows there and leave anything outbound to `on_commit`.
"""

from __future__ import annotations

from django.dispatch import Signal

action_approved = Signal()  # action_id, action_type: approved, a worker runs it if its kind executes
action_held = Signal()  # action_id: held (or edited while held), reviewers should look
# action, event: "action.decided" (pending -> approved, rejected, expired or cancelled) or
# "action.finished" (-> completed or failed), inside the transaction that made the change
action_settled = Signal()
