"""What the lifecycle announces to the apps that act on it, so it never imports them.

Each signal is sent once the change has committed, with the action's id: the worker app enqueues
an approved action, the notifications app tells reviewers of a held one.
"""

from __future__ import annotations

from django.dispatch import Signal

action_approved = Signal()  # action_id, action_type: approved, a worker runs it if its kind executes
action_held = Signal()  # action_id: held (or edited while held), reviewers should look
