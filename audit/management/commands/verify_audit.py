"""Verify the audit hash chain; exit 0 with `OK <n> entries, head <hash>`, 1 with the first broken seq."""

from __future__ import annotations

import re
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.verify import Anchor, checkpoint_create, verify_chain

_ANCHOR_RE = re.compile(r"^(\d+):([0-9a-f]{64})$")


def _anchor(text: str) -> Anchor:
    match = _ANCHOR_RE.match(text.strip())
    if not match:
        raise CommandError(f"--anchor must be SEQ:SHA256HEX, got {text!r}")
    return Anchor(int(match.group(1)), match.group(2))


class Command(BaseCommand):
    help = (
        "Verify every audit entry's hash and link. --checkpoint records the verified head "
        "(print it and keep it elsewhere too); --anchor SEQ:HASH checks against such a copy."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--checkpoint", action="store_true", help="record the verified head as a checkpoint")
        parser.add_argument("--anchor", action="append", default=[], help="SEQ:HASH from an earlier checkpoint")

    def handle(self, *args: Any, checkpoint: bool, anchor: list[str], **options: Any) -> None:
        verdict = verify_chain(anchors=[_anchor(text) for text in anchor])
        if not verdict.ok:
            self.stdout.write(self.style.ERROR(f"BROKEN at seq {verdict.broken_seq}: {verdict.reason}"))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(f"OK {verdict.entries} entries, head {verdict.head}"))
        if checkpoint:
            saved = checkpoint_create(verdict)
            if saved is not None:
                self.stdout.write(f"checkpoint {saved.seq}:{saved.hash}")
