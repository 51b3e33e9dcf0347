"""A fast prompt-injection screen: scores text and says why it looks like an attack."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "instruction override",
        re.compile(
            r"\b(ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}\b(previous|prior|above|earlier|all|your|the)\b"
            r"[^.\n]{0,30}\b(instructions?|prompts?|rules|guidelines|directives|system message)",
            re.I,
        ),
    ),
    (
        "system prompt extraction",
        re.compile(
            r"\b(reveal|print|show|repeat|output|leak|tell me)\b[^.\n]{0,40}\b(system|hidden|initial|original)\s+"
            r"(prompt|instructions|message)",
            re.I,
        ),
    ),
    (
        "role-play jailbreak",
        re.compile(
            r"\b(you are now|from now on you are|pretend (to be|you are)|act as)\b[^.\n]{0,60}"
            r"\b(DAN|unrestricted|unfiltered|jailbroken|without (any )?(rules|restrictions|limits|filters))",
            re.I,
        ),
    ),
    ("jailbreak persona", re.compile(r"\b(DAN mode|developer mode enabled|do anything now)\b", re.I)),
    (
        "fake system/role marker",
        re.compile(
            r"(<\|?(system|im_start|im_end)\|?>|^\s*(system|assistant)\s*:|\[/?INST\]|###\s*system)", re.I | re.M
        ),
    ),
    (
        "exfiltration request",
        re.compile(
            r"\b(send|post|upload|exfiltrate|forward|leak)\b[^.\n]{0,60}"
            r"\b(api[_ -]?keys?|passwords?|credentials|secrets?|tokens?|private keys?|\.env|/etc/shadow|ssh keys?)\b",
            re.I,
        ),
    ),
    (
        "tool abuse",
        re.compile(
            r"(\brm\s+-rf\s+/|\bcurl\b[^\n]{0,80}\|\s*(ba)?sh\b|\bchmod\s+777\b|:\(\)\s*\{\s*:\|:&\s*\};:|"
            r"\bdisable (the )?(safety|security|sandbox|approval)s?\b)",
            re.I,
        ),
    ),
    ("invisible characters", re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\U000e0000-\U000e007f]")),
]
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")


@dataclass(frozen=True)
class ScreenResult:
    score: float
    reasons: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)


def _hidden_instructions(text: str) -> bool:
    for run in _BASE64_RUN.findall(text):
        try:
            decoded = base64.b64decode(run + "=" * (-len(run) % 4), validate=False).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
        if any(pattern.search(decoded) for _, pattern in _RULES[:4]):
            return True
    return False


def screen_text(text: str) -> ScreenResult:
    reasons = [name for name, pattern in _RULES if pattern.search(text)]
    if _hidden_instructions(text):
        reasons.append("encoded instructions")
    return ScreenResult(score=min(1.0, 0.6 * len(reasons)), reasons=reasons)
