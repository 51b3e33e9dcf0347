"""Every message body reads exactly as pinned here, byte for byte, for one representative action.

The action carries what a careless renderer would mangle: HTML-special characters in the requester's
name, a reason and the parameters (plain text must not escape them), Slack's own marks (Slack text
must), a value long enough to be folded, a routed group and an escalation group that need quoting.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from approvals.models import Action
from notifications.messages import email_body, email_subject, escalation_body, escalation_subject, slack_body
from tests.factories import make_action, make_user

pytestmark = pytest.mark.django_db

LINKS = {
    "approve": "https://hub.example.org/approvals/link/APPROVE/",
    "reject": "https://hub.example.org/approvals/link/REJECT/",
}


@pytest.fixture
def action(settings) -> Action:
    settings.ACTIONHUB_BASE_URL = "https://hub.example.org"
    settings.ACTIONHUB_LINK_MAX_AGE = timedelta(minutes=90)
    settings.ACTIONHUB_ESCALATION_GROUP = 'night\'s "ops"'
    settings.ACTIONHUB_ROUTING = {"file_operation": ["ops & <sre>"]}
    requester = make_user("o'brien<&>")
    content = "<b>bold</b> & 'quoted' \"double\" *star* _under_ `tick`\n> quote @here " + "z" * 4_100
    action = make_action(
        requester,
        {
            "action_type": "file_operation",
            "parameters": {"operation": "write", "path": "a&b/<c>.md", "content": content},
        },
    )
    created = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
    Action.objects.filter(id=action.id).update(
        created_at=created,
        expires_at=created + timedelta(hours=24),
        escalated_at=created + timedelta(hours=12, minutes=7),
        classification_reasons=["file write <changes> data & 'more'", "*loud* `reason`"],
    )
    return Action.objects.select_related("requested_by").get(id=action.id)


def _pinned(text: str, action: Action) -> str:
    """`text` with the action's id and each run of z's (the long value) named, so the literals stay readable."""
    return re.sub("z{10,}", lambda run: f"<{len(run.group())} z>", text.replace(str(action.id), "ACTION_ID"))


EMAIL_SUBJECT = "[ActionHub] HIGH file_operation from o'brien<&> is waiting for review"

BODY = (
    "HIGH file_operation from o'brien<&> is waiting for review.\n"
    "\n"
    "Review it: https://hub.example.org/approvals/ACTION_ID/\n"
    "\n"
    "Type:             file_operation\n"
    "Skill:            none\n"
    "Risk level:       HIGH\n"
    "Reversibility:    partly reversible (a new file can be deleted, but an overwritten file's old "
    "content is gone)\n"
    "Requested by:     o'brien<&>\n"
    "Requested at:     2026-03-04 05:06 UTC\n"
    "Expires:          2026-03-05 05:06 UTC\n"
    "Approvals needed: 1\n"
    "Action:           ACTION_ID\n"
    "\n"
    "Why it is held:\n"
    "- file write <changes> data & 'more'\n"
    "- *loud* `reason`\n"
    "\n"
    "Parameters:\n"
    "{\n"
    '  "content": "<b>bold</b> & \'quoted\' \\"double\\" *star* _under_ `tick`\\n> quote @here <3932 z>… '
    '168 more characters, see the link",\n'
    '  "operation": "write",\n'
    '  "path": "a&b/<c>.md"\n'
    "}\n"
    "\n"
)

ONE_TAP = (
    "Decide from here: each link opens a page showing the whole action, where you confirm (logged in "
    "as bob). The links work once, only for you, for this version of the action, for 1.5 hours at "
    "most.\n"
    "Approve: https://hub.example.org/approvals/link/APPROVE/\n"
    "Reject:  https://hub.example.org/approvals/link/REJECT/\n"
    "\n"
)

REVIEW_IT = "Review it: https://hub.example.org/approvals/ACTION_ID/\n"

ESCALATION_SUBJECT = "[ActionHub] Escalated: HIGH file_operation from o'brien<&> is waiting for review"

ESCALATION_HEADER = (
    "Escalated: nobody has decided this action in 12h 7m (assigned to ops & <sre>); it expires "
    "2026-03-05 05:06 UTC and then will not run.\n"
    "You get this because you are in the 'night\\'s \"ops\"' group.\n"
    "\n"
)

SLACK_TEXT = (
    "*HIGH fileˍoperation from o'brien&lt;&amp;&gt; is waiting for review*: "
    "<https://hub.example.org/approvals/ACTION_ID/|review it>\n"
    "*Type:* fileˍoperation\n"
    "*Skill:* none\n"
    "*Risk level:* HIGH\n"
    "*Reversibility:* partly reversible (a new file can be deleted, but an overwritten file's old "
    "content is gone)\n"
    "*Requested by:* o'brien&lt;&amp;&gt;\n"
    "*Requested at:* 2026-03-04 05:06 UTC\n"
    "*Expires:* 2026-03-05 05:06 UTC\n"
    "*Approvals needed:* 1\n"
    "*Action:* ACTION_ID\n"
    "*Why it is held:*\n"
    "• file write &lt;changes&gt; data &amp; 'more'\n"
    "• ∗loud∗ ˋreasonˋ\n"
    "*Parameters:*\n"
    "```\n"
    "{\n"
    '  "content": "&lt;b&gt;bold&lt;/b&gt; &amp; \'quoted\' \\"double\\" *star* _under_ `tick`\\n&gt; '
    'quote @here <3932 z>… 168 more characters, see the link",\n'
    '  "operation": "write",\n'
    '  "path": "a&amp;b/&lt;c&gt;.md"\n'
    "}\n"
    "```\n"
    "Review it: https://hub.example.org/approvals/ACTION_ID/\n"
    "Decide (you confirm on the page, logged in as a reviewer): "
    "<https://hub.example.org/approvals/link/TOKEN/|approve…> · "
    "<https://hub.example.org/approvals/link/TOKEN/|reject…>"
)

SLACK_BLOCKS = [
    {
        "type": "header",
        "text": {"type": "plain_text", "text": "HIGH file_operation from o'brien<&> is waiting for review"},
    },
    {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": "*Type*\nfileˍoperation", "verbatim": True},
            {"type": "mrkdwn", "text": "*Skill*\nnone", "verbatim": True},
            {"type": "mrkdwn", "text": "*Risk level*\nHIGH", "verbatim": True},
            {
                "type": "mrkdwn",
                "text": (
                    "*Reversibility*\npartly reversible "
                    "(a new file can be deleted, but an overwritten file's old content is gone)"
                ),
                "verbatim": True,
            },
            {"type": "mrkdwn", "text": "*Requested by*\no'brien&lt;&amp;&gt;", "verbatim": True},
            {"type": "mrkdwn", "text": "*Requested at*\n2026-03-04 05:06 UTC", "verbatim": True},
            {"type": "mrkdwn", "text": "*Expires*\n2026-03-05 05:06 UTC", "verbatim": True},
            {"type": "mrkdwn", "text": "*Approvals needed*\n1", "verbatim": True},
            {"type": "mrkdwn", "text": "*Action*\nACTION_ID", "verbatim": True},
        ],
    },
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "*Why it is held*\n• file write &lt;changes&gt; data &amp; 'more'\n• ∗loud∗ ˋreasonˋ",
            "verbatim": True,
        },
    },
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Parameters*", "verbatim": True}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "```\n{\n```", "verbatim": True}},
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": (
                '```\n  "content": "&lt;b&gt;bold&lt;/b&gt; &amp; \'quoted\' \\"double\\" '
                "*star* _under_ `tick`\\n&gt; quote @here <2878 z>\n```"
            ),
            "verbatim": True,
        },
    },
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": (
                '```\n<1054 z>… 168 more characters, see the link",\n'
                '  "operation": "write",\n  "path": "a&amp;b/&lt;c&gt;.md"\n}\n```'
            ),
            "verbatim": True,
        },
    },
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Review in ActionHub"},
                "url": "https://hub.example.org/approvals/ACTION_ID/",
                "style": "primary",
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Approve…"},
                "url": "https://hub.example.org/approvals/link/TOKEN/",
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Reject…"},
                "url": "https://hub.example.org/approvals/link/TOKEN/",
            },
        ],
    },
]


def test_it_writes_a_reviewer_the_email_it_always_has(action):
    assert email_subject(action) == EMAIL_SUBJECT
    assert _pinned(email_body(action, links=LINKS, recipient="bob"), action) == BODY + ONE_TAP + REVIEW_IT


def test_it_leaves_the_one_tap_paragraph_out_without_links(action):
    assert _pinned(email_body(action), action) == BODY + REVIEW_IT


def test_it_writes_the_escalation_group_the_email_it_always_has(action):
    assert escalation_subject(action) == ESCALATION_SUBJECT
    assert _pinned(escalation_body(action), action) == ESCALATION_HEADER + BODY + REVIEW_IT


def test_it_posts_the_slack_message_it_always_has(action):
    body = json.loads(re.sub(r"/approvals/link/[^/|\"]+/", "/approvals/link/TOKEN/", json.dumps(slack_body(action))))

    assert _pinned(body["text"], action) == SLACK_TEXT
    assert json.loads(_pinned(json.dumps(body["blocks"]), action)) == SLACK_BLOCKS
