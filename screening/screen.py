"""The prompt-injection screen: scores a text and names why it looks like an attack on the model.

Rules run on a normalised view of the text (NFKC, invisible characters removed, look-alike letters
mapped to ASCII, spaced-out letters joined) and on what hides inside it (base64, hex,
URL-encoding, HTML entities, Unicode escapes, tag characters, rot13, reversed text). Each rule has
a weight; the score is the chance that at least one signal is real, 1 - Π(1 - weight), and a
score of at least FLAG_THRESHOLD flags the text. Mentioning an attack is not making one: a rule
hit inside a question or explanation about the topic that does not address the model counts less.
Work is bounded: every pattern has bounded gaps and decoding is capped, so long inputs stay cheap.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import itertools
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from urllib.parse import unquote_plus

# Chosen on the tuning split of bench/data (see bench/README.md): the lowest score that keeps the
# false-positive rate there at or under 2%.
FLAG_THRESHOLD = 0.5

# Decoding is capped so a long parameter costs a bounded amount of work.
MAX_DECODED_SEGMENTS = 24
MAX_DECODED_CHARS = 32_768
CHUNK = 4096


@dataclass(frozen=True)
class ScreenResult:
    score: float
    reasons: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return self.score >= FLAG_THRESHOLD


# Normalisation


_INVISIBLE = re.compile(
    r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)
_ZERO_WIDTH_IN_WORD = re.compile(r"[A-Za-z][\u00ad\u200b-\u200d\u2060\ufeff]+[A-Za-z]")
_BIDI_CONTROL = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_TAG_RUN = re.compile(r"[\U000e0020-\U000e007e]{3,}")
_FLAG_TAGS = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")
_SPACED_LETTERS = re.compile(r"(?<![a-z])(?:[a-z][ .\-_*/|~+]{1,3}){3,}[a-z](?![a-z])")
_SEPARATORS = re.compile(r"[ .\-_*/|~+]")
_WHITESPACE = re.compile(r"[\t\f\v\u00a0][ \t\f\v\u00a0]*| [ \t\f\v\u00a0]+")
_ZERO_WIDTH = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
_STYLED = re.compile(r"[\uff01-\uff5e\U0001d400-\U0001d7ff]")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t"})
_LEET_WORD = re.compile(r"\b[a-z]*[0-9@$][a-z0-9@$]*[a-z][a-z0-9@$]*\b")


@cache
def _lookalikes() -> dict[int, str]:
    """Non-ASCII characters that Unicode lists as confusable with an ASCII letter or digit."""
    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    table: dict[int, str] = {}
    for char, entries in data.items():
        for entry in entries:
            other = entry["c"]
            if len(char) == 1 and not char.isascii() and len(other) == 1 and other.isascii() and other.isalnum():
                table.setdefault(ord(char), other)
            elif len(other) == 1 and not other.isascii() and len(char) == 1 and char.isascii() and char.isalnum():
                table.setdefault(ord(other), char)
    return table


@dataclass
class _Normalised:
    text: str
    tricks: list[str]
    joined: str


# A run this long without a space carries no sentence; decoders look inside it instead.
_LONG_TOKEN = re.compile(r"\S{256,}")
# Saying a word many times over adds nothing to an instruction, and would only cost time.
_REPEATS = re.compile(r"\b(\w+)(?:\W{1,3}\1\b){3,}")


def _normalise(text: str) -> _Normalised:
    tricks: list[str] = []
    if _ZERO_WIDTH.search(text) and _ZERO_WIDTH_IN_WORD.search(text):
        tricks.append("zero-width characters")
    if _BIDI_CONTROL.search(text):
        tricks.append("bidi controls")
    folded = unicodedata.normalize("NFKC", text)
    if folded != text and _STYLED.search(text):
        tricks.append("fullwidth or styled letters")
    folded = _INVISIBLE.sub("", folded)
    mapped = folded.translate(_lookalikes())
    if mapped != folded and _mixed_script(folded):
        tricks.append("look-alike letters")
    lowered = mapped.lower()
    joined = _SPACED_LETTERS.sub(lambda m: _SEPARATORS.sub("", m.group()), lowered)
    if joined != lowered and re.search(r"(?:[a-z][ .\-_*/|~+]{1,3}){5,}[a-z]", lowered):
        tricks.append("spaced-out letters")
    text = _LONG_TOKEN.sub(" ", joined)
    if _repetitive(text):
        text = _REPEATS.sub(r"\1", text)
    return _Normalised(_WHITESPACE.sub(" ", text), tricks, joined)


_SCRIPT_SEAM = re.compile(r"[A-Za-z][^\x00-\x7f\W]|[^\x00-\x7f\W][A-Za-z]")


def _repetitive(text: str) -> bool:
    """One word making up a large share of a long text, as in filler meant to slow the screen down."""
    if len(text) < 20_000:
        return False
    words = _WORD.findall(text)
    top = Counter(words).most_common(1)
    return bool(top) and top[0][1] >= max(500, len(words) // 5)


def _mixed_script(text: str) -> bool:
    """A word mixing ASCII letters with look-alike letters from another script."""
    table = _lookalikes()
    return any(ord(ch) in table for seam in _SCRIPT_SEAM.finditer(text) for ch in seam.group() if not ch.isascii())


# Rules: (reason, weight, pattern, mention-sensitive). Patterns see the normalised, lowercase text.


def _gap(n: int) -> str:
    """Up to n characters within one sentence."""
    return rf"[^.!?\n]{{0,{n}}}"


_G = _gap
_AI = r"(?:ai|a\.i\.|llm|language model|assistant|chat ?bot|bot|agent|copilot|gpt|chatgpt|claude|gemini|model)s?"
_RULE_NOUN = (
    r"(?:instructions?|prompts?|rules|guidelines|directives?|directions|guidance|constraints|restrictions|"
    r"programming|system (?:message|prompt)|policies|policy|training|orders|commands)"
)
_SENSITIVE = (
    r"(?:api[ _-]?keys?|passwords?|passwd|credentials?|secrets?|(?:access|session|auth|bearer|api|github|gh"
    r"|ci)[ _-]?tokens?|"
    r"tokens?|private keys?|ssh keys?|id_rsa|\.env\b|environment variables|env vars|os\.environ|/etc/(?:shadow|passwd)|"
    r"cookies|aws_secret\w*|secret_access_key|\.aws/credentials|conversation history|chat history|system prompt|"
    r"private messages|database credentials|secrets\.ya?ml|our chat|this conversation|the conversation)"
)
_DESTINATION = (
    r"(?:https?://|\bwww\.|\b(?:to|at|into) (?:my|this|the|an?|our) (?:server|endpoint|url|webhook|email"
    r"|address|bot|gist|"
    r"pastebin|bucket|site|host)|\b[\w.+-]+@[\w-]+\.\w|pastebin|webhook|\bgist\b|\bdns\b|telegram|discord)"
)
_EXEC = (
    r"(?:\brun\b|\bexecute\b|\bexec\b|\btype\b|\blaunch\b|\binvoke\b|os\.system|subprocess|shell=true|popen|\bcall\b)"
)
_DESTRUCTIVE = (
    r"(?:\brm\s+-(?:rf|fr|r\s*-f|-recursive)\b|\bmkfs(?:\.\w+)?\s|\bdd\s+if=\S+\s+of=/dev/"
    r"|:\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:|"
    r"\bchmod\s+-r\s+777\s+/|\bkill\s+-9\s+-1\b|\bshutdown\s+-h\b|\biptables\s+-f\b|\bdrop\s+(?:database|schema"
    r"|table)\b|"
    r"\btruncate\s+table\b|>\s*/dev/sd[a-z]|\bformat\s+c:|\bdel\s+/[fsq]|\brmtree\(|\bgit\s+push\s+(?:--force|-f)\b)"
)

_RULES: list[tuple[str, float, re.Pattern[str], bool]] = [
    (
        "instruction override",
        0.85,
        re.compile(
            r"\b(?:ignore|disregard|forget|override|overwrite|bypass|skip|discard|erase|cancel|set aside"
            r"|pay no attention to|"
            r"stop following|do not follow|don't follow|never mind|abandon|neglect|throw out|ignoring)\b"
            + _G(40)
            + r"\b(?:previous|prev|prior|above|earlier|preceding|original|initial|all|any|your|my|these|those|system|"
            r"developer'?s?|safety|old|default|existing|current|content|usage|moderation)\b"
            + _G(30)
            + r"\b"
            + _RULE_NOUN
            + r"|\b(?:ignore|disregard|forget)\b"
            + _G(20)
            + r"\b(?:everything|all|what|anything) (?:above|before|(?:was|you were|you have been|i) (?:said"
            r"|told|given)|came)"
            r"|\b(?:ignore|disregard|forget|discard|drop) (?:them|those|it|these) and (?:follow|obey|do)\b",
        ),
        True,
    ),
    (
        "instruction override",
        0.75,
        re.compile(
            r"\b(?:previous|prior|above|earlier|original|old|initial|all earlier|existing|your)\s+(?:\w+\s+)?"
            + _RULE_NOUN
            + r"\s+(?:you (?:received|were given|got|have)\s+(?:\w+\s+)?)?(?:are|is|were|have been)\s+(?:now\s+)?"
            r"(?:void|cancell?ed|null|obsolete|outdated|revoked|invalid|"
            r"no longer (?:valid|in effect|apply)|a test|updated|lifted|suspended)"
            r"|\bthe\s+"
            + _RULE_NOUN
            + r"\s+you (?:received|were given|got)\s+(?:\w+\s+)?(?:are|were)\s+(?:void|obsolete|"
            r"outdated|a test|cancell?ed|invalid)"
            r"|\b(?:rules|instructions|guidelines|restrictions)\s+(?:above\s+)?(?:don't|do not|no longer)\s+apply"
            r"|\byour (?:usual |normal )?(?:restrictions|rules|guidelines|limitations) (?:are"
            r"|have been) (?:lifted|removed|"
            r"disabled|suspended|void)"
            r"|\b(?:new|updated|real) (?:instructions?|directives?|rules|orders|policy) (?:follow|supersede"
            r"|are as follows|"
            r"override)|\bsupersedes? all (?:previous|prior)"
        ),
        True,
    ),
    (
        "instruction override",
        0.55,
        re.compile(
            r"\b(?:your only rule|only (?:obey|listen to) me|obey (?:me|only me|my (?:commands|instructions|orders))|"
            r"you (?:will|must|shall) (?:now )?(?:obey|comply with) (?:me|every|all|my)|do whatever (?:i"
            r"|the user) (?:say|says|ask|asks)|"
            r"(?:new|additional) (?:task|instructions?|directive|orders?)\s*:|you (?:must|will) answer every question|"
            r"follow (?:my|these|the following) (?:new|updated) (?:instructions|policy|rules|ones|orders)|"
            r"\b(?:ignore|disregard) the (?:document|text|article|email|page|analysis|question|task"
            r"|input)\b(?: and|,|;))"
        ),
        True,
    ),
    (
        "role-play jailbreak",
        0.85,
        re.compile(
            r"\bdo anything now\b|\b(?:you are|you're|act as|pretend to be|roleplay as|role-play as|play"
            r"|answer as|respond as|"
            r"simulate|become|called|named|as|stay in character as)\s+(?:now\s+)?(?:an?\s+)?\"?(?:dan|stan|dude"
            r"|aim|antigpt|evilbot|"
            r"basedgpt|freedomgpt|omega|betterdan|libre|developer mode)\b"
            r"|\b(?:jailbroken|jailbreak) (?:mode|version|assistant|ai|model)\b|\bunaligned model\b"
            r"|\bhas broken free of\b"
        ),
        True,
    ),
    (
        "role-play jailbreak",
        0.6,
        re.compile(
            r"\b(?:no|without(?: any)?|free (?:from|of)(?: all)?|not bound by|never says? it can't"
            r"|escaped (?:its|the)|zero)\s+"
            r"(?:\w+\s+){0,2}(?:restrictions|filters|content filters|limits|limitations|ethical guidelines"
            r"|morals|moral limits|ethics|"
            r"content policy|censorship|guardrails|rules|safety filters|warnings or disclaimers)\b"
            r"|\bnever (?:refuses?|says no|warns)\b|\b(?:uncensored|unfiltered|unrestricted) (?:ai|assistant"
            r"|model|mode|version)\b"
            r"|\b(?:is|are) (?:all )?(?:disabled|turned off)\b"
        ),
        True,
    ),
    (
        "role-play jailbreak",
        0.45,
        re.compile(
            r"\b(?:developer|god|sudo|unrestricted|jailbreak|dan|evil|unfiltered|uncensored|maintenance) mode\b"
            r"|\b(?:pretend|imagine|roleplay|role-play|stay in character|you are now|from now on you|let's play a game|"
            r"hypothetically,? if you were|play the (?:role|character)|act as)\b"
            r"|\b(?:answer|respond) twice\b|\bonce as yourself\b|\bevil (?:twin|ai|bot)\b"
        ),
        True,
    ),
    (
        "system prompt extraction",
        0.85,
        re.compile(
            r"\b(?:reveal|print|show|repeat|output|leak|tell|give|share|display|dump|echo|paste|spell out"
            r"|translate|summari[sz]e|"
            r"list|write out|recite|copy|what (?:is|are|were))\b"
            + _G(40)
            + r"\b(?:your|ur)\s+(?:\w+\s+){0,3}?(?:system prompt|prompt|instructions|system message|developer message|"
            r"directives|configuration|initial|hidden|rules you)"
            r"|\b(?:reveal|print|show|repeat|output|leak|dump|echo|paste|display|recite)\b"
            + _G(40)
            + r"\b(?:system|hidden|initial|original|confidential|secret|developer|pre-?)\s*(?:prompt"
            r"|instructions|message)"
            r"|\b(?:repeat|print|output) (?:the )?(?:words|text|everything) (?:above|before)"
            r"|\b(?:instructions|prompt) you (?:were|have been) given\b|\bprompt (?:that defines|you are running)"
            r"|\b(?:exact )?(?:wording|text|contents?) of (?:the|your) (?:system )?(?:prompt|instructions)"
            r"|\bdump (?:your )?context window\b|\brules were you told\b|\btold never to reveal\b"
        ),
        True,
    ),
    (
        "fake role marker",
        0.85,
        re.compile(
            r"<\|\s*(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id"
            r"|begin_of_text|end)\s*\|>"
            r"|\[/?inst\]|<</?sys>>"
        ),
        True,
    ),
    (
        "fake role marker",
        0.6,
        re.compile(
            r"</?(?:system|system_prompt|sys|instructions?|admin)>|</(?:user|document|context|data)>"
            r"|\{\s*\"role\"\s*:\s*\"(?:system|developer)\""
            r"|\[+\s*(?:system|admin|developer)(?: note| message| instruction| override)?\s*\]+"
            r"|\b(?:system|admin(?:istrator)?|developer) (?:note|message|override|notice|update|instruction)\s*[:\]]"
            r"|\bmessage from the (?:system|system administrator|developers?)\b"
            r"|\bend of (?:user )?(?:input|prompt|document)\b"
        ),
        True,
    ),
    (
        "fake role marker",
        0.6,
        re.compile(
            r"(?:^|\n)[ \t]*(?:#{1,3}[ \t]*)?(?:system|developer)[ \t]*:[ \t]*[a-z<]"
            r"|#{2,3}[ \t]*(?:system|instruction|response|user|assistant)[ \t]*:"
        ),
        True,
    ),
    (
        "fake role marker",
        0.4,
        re.compile(r"(?:^|\n)[ \t]*(?:assistant|user|human|ai)[ \t]*:[ \t]*[a-z<]"),
        True,
    ),
    (
        "exfiltration",
        0.85,
        re.compile(
            r"!\[[^\]\n]{0,100}\]\(\s*https?://[^)\s]{0,300}[?&][^)\s]{0,200}(?:\{|\$|%s|secret|key|token"
            r"|password|data=|history|"
            r"conversation|prompt|=\s*\))"
            r"|\b(?:markdown image|image (?:tag|url)|<img)\b[^\n]{0,200}?" + _SENSITIVE
        ),
        True,
    ),
    (
        "authority claim",
        0.35,
        re.compile(
            r"\bi(?: am|'m) (?:the|your) (?:developer|administrator|admin|creator|owner|operator)\b"
            r"|\bauthori[sz]ed (?:penetration |security |red[- ]team )?test\b|\b(?:openai|anthropic|google) staff\b"
            r"|\bi have (?:admin|root) (?:access|privileges)\b|\bhas admin privileges\b|\bi authori[sz]e you\b"
            r"|\bsafety mode has been turned off\b"
        ),
        True,
    ),
    (
        "indirect injection",
        0.75,
        re.compile(
            r"\b(?:to|for|attention|note to|message to|instructions? (?:to|for)|dear|hey)\s+(?:any |all |the |an? )?"
            + _AI
            + r"(?: agents?| assistants?| models?| tools?| screening tools?)?\s*(?:reading|processing"
            r"|summari[sz]ing|parsing|"
            r"that reads?|who reads?|:)"
            r"|\b(?:if|when) you are an? " + _AI + r"\b"
            r"|\b(?:if|when|whenever) (?:an? |the |any )?"
            + _AI
            + r" (?:reads?|summari[sz]es?|process(?:es)?|sees?|parses?)\b"
            r"|\b(?:important|additional|hidden|new|urgent|secret) instructions? (?:for|to) (?:the )?" + _AI + r"\b"
            r"|\b(?:system )?instructions? to " + _AI + r"\b"
            r"|(?:^|[\s\"'(])@?"
            + _AI
            + r"\s*[:,]\s*(?:ignore|disregard|forget|you must|when|run|send|do not|don't|stop|approve|"
            r"rate|reply|include|tell|forward|delete|quietly)\b"
            r"|" + _AI + r" (?:reading|processing) this (?:text|file|page|document|email)? ?(?:must|should)\b"
        ),
        False,
    ),
    (
        "indirect injection",
        0.5,
        re.compile(
            r"<!--[^>]{0,300}?\b(?:ai|assistant|model|ignore|instructions?|system|approve|copilot|llm)\b|\[hidden text"
        ),
        False,
    ),
    (
        "harmful request",
        0.3,
        re.compile(
            r"\b(?:make|build|synthesi[sz]e|cook|create|write)\b"
            + _G(30)
            + r"\b(?:bombs?|napalm|meth|explosives?|nerve agents?|bioweapons?|weapons?|malware|ransomware)\b"
        ),
        True,
    ),
]


def _triggers(spec: str, separator: str = "|") -> tuple[str, ...]:
    return tuple(spec.split(separator))


# Substrings without which a rule cannot match: a rule whose triggers are all absent is skipped,
# which keeps long ordinary inputs cheap.
_TRIGGERS: list[tuple[str, ...]] = [
    _triggers(
        "ignor|disregard|forget|overrid|overwrit|bypass|skip|discard|erase|cancel|set aside|"
        "pay no attention|stop following|t follow|never mind|abandon|neglect|throw out"
    ),
    _triggers(
        "void|cancel|null|obsolete|outdated|revoked|invalid|no longer|a test|updated|lifted|"
        "suspended|apply|removed|disabled|supersede|follow|override"
    ),
    _triggers(
        "only rule|obey|listen to me|comply|do whatever|new task|new instruction|additional task|"
        "additional instruction|new directive|additional directive|new order|additional order|answer every|"
        "follow my|follow these|follow the following|ignore the|disregard the"
    ),
    _triggers(
        "do anything now|dan|stan|dude|aim|antigpt|evilbot|basedgpt|freedomgpt|omega|libre|"
        "developer mode|jailb|unaligned|broken free"
    ),
    _triggers(
        "restriction|filter|limit|ethic|moral|content policy|censor|guardrail|rules|disclaimer|"
        "never refus|never say|never warn|uncensored|unfiltered|unrestricted|disabled|turned off"
    ),
    _triggers(
        "developer mode|god mode|sudo mode|unrestricted mode|jailbreak mode|dan mode|evil mode|unfiltered mode|"
        "uncensored mode|maintenance mode|pretend|imagine|roleplay|role-play|stay in character|you are now|"
        "from now on you|play a game|hypothetically|play the|act as|twice|once as yourself|evil "
    ),
    _triggers(
        "your|ur |system|hidden|initial|original|confidential|secret|developer|prompt|words|"
        "text|everything|instructions you|context window|told|wording|content"
    ),
    _triggers("<| inst] <<sys <</sys", separator=" "),
    _triggers(
        "<system|</system|<sys|</sys|<instruction|</instruction|<admin|</admin|</user|</document|</context|"
        '</data|"role"|system]|admin]|developer]|note]|message]|instruction]|override]|system note|'
        "system message|system override|system notice|system update|system instruction|admin note|"
        "admin message|administrator note|administrator message|developer note|developer message|"
        "developer override|developer instruction|message from the|end of"
    ),
    _triggers("system|developer|#"),
    _triggers("assistant|user|human|ai:|ai :"),
    _triggers("![|markdown image|image tag|image url|<img"),
    _triggers("i am|i'm|authori|staff|admin|root|safety mode"),
    _triggers(' ai|@ai|"ai|(ai|a.i.|llm|language model|assistant|bot|agent|copilot|gpt|claude|gemini|model'),
    _triggers("<!--|[hidden text"),
    _triggers("bomb|napalm|meth|explosive|nerve agent|bioweapon|weapon|malware|ransomware"),
]
# Exfiltration is looked for around what would be sent, which is rarer than the verbs.
_SENSITIVE_TRIGGERS = _triggers(
    "key|passw|passwd|credential|secret|token|id_rsa|.env|environment variable|env var|environ|/etc/|cookie|"
    "aws|history|system prompt|private message|our chat|this conversation|the conversation"
)
_DESTRUCTIVE_TRIGGERS = _triggers(
    "rm |mkfs|dd |:(|chmod|kill|shutdown|iptables|drop|truncate|/dev/sd|format c|del /|rmtree|push"
)
_PRIVILEGE_TRIGGERS = _triggers(
    "sudo|nopasswd|superuser|chmod|authorized_keys|usermod|grant|escalat|elevat|make me|root|reverse shell|/dev/tcp"
)
_DISABLE_TRIGGERS = _triggers(
    "approval|review|safety|security|sandbox|audit|logging|guardrail|filter|firewall|confirmation|"
    "monitoring|2fa|mfa|level|approve all|approve every| log"
)


# A match starts at most this far before its trigger and ends at most this far after it.
_REACH_BEFORE = 200
_REACH_AFTER = 300


def _windows(text: str, triggers: tuple[str, ...]) -> list[tuple[int, int]]:
    """Merged spans of `text` around occurrences of the triggers: the only places a rule can match.

    str.find is far cheaper than a regular expression, so a long input with few triggers costs little.
    """
    positions: list[int] = []
    for trigger in triggers:
        found = text.find(trigger)
        while found != -1:
            positions.append(found)
            found = text.find(trigger, found + 1)
    positions.sort()
    spans: list[tuple[int, int]] = []
    for position in positions:
        start, end = max(0, position - _REACH_BEFORE), position + _REACH_AFTER
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def _finditer(pattern: re.Pattern[str], text: str, triggers: tuple[str, ...]) -> Iterator[re.Match[str]]:
    for start, end in _windows(text, triggers):
        yield from pattern.finditer(text, start, min(end, len(text)))


_EXFIL_VERB = re.compile(
    r"\b(?:send|post|upload|forward|e-?mail|mail|transmit|exfiltrate|leak|push|paste|share|copy|append|include|embed|"
    r"encode|deliver|submit|grab|collect|dump|curl|make a post request)\b"
)
_SENSITIVE_RE = re.compile(_SENSITIVE)
_DESTINATION_RE = re.compile(_DESTINATION)
_EVERYONE = re.compile(r"\b(?:all|every|everyone's|the user's|users'|of all|each)\b")
_DESTRUCTIVE_RE = re.compile(_DESTRUCTIVE)
_PIPE_TO_SHELL = re.compile(r"\b(?:curl|wget)\b[^\n|]{0,200}\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b")
_EXEC_RE = re.compile(_EXEC)
_IMPERATIVE = re.compile(
    r"\b(?:please|now|immediately|go ahead|add|edit|grant|give|open|make|use|kill|delete|wipe|free up)\b"
)
_DISABLE_SAFETY = re.compile(
    r"\b(?:disable|turn off|switch off|deactivate|bypass|skip|circumvent|get around|remove|without asking|lift)\b"
    + _G(30)
    + r"\b(?:approvals?|(?:human )?review(?:ers)?|safety|security|sandbox|audit(?:ing| log)?|logging"
    r"|guardrails?|filters?|"
    r"firewall|confirmation|monitoring|2fa|mfa|the approval step)\b"
    r"|\b(?:set|change|lower|downgrade)\b"
    + _G(30)
    + r"\b(?:security|risk) level\b"
    + _G(20)
    + r"\b(?:low|none|medium)\b"
    r"|\b(?:no longer|don't|do not|never) (?:need|require)s? (?:approval|review)"
    r"|\bapprove (?:all|every) (?:pending )?(?:actions|requests)"
    r"|\b(?:delete|clear|wipe|truncate|erase|remove)\b" + _G(30) + r"\b(?:audit|logs?\b|records from the audit)"
    r"|\bstop the firewall\b"
)
_PRIVILEGE = re.compile(
    r"\bsudoers\b|\bnopasswd\b|\bis_superuser\s*=\s*true\b|\bchmod\s+[ugo]*\+s\b|\bauthorized_keys\b|\bsudo su\b|"
    r"\busermod\s+-a?g\s+(?:sudo|wheel|root)\b|\bgrant (?:me|my user|myself) (?:admin|root|superuser)|"
    r"\b(?:escalate|elevate) (?:my )?privileges\b|\bmake me (?:an? )?(?:admin|superuser|root)\b|\bpasswordless root\b|"
    r"\breverse shell\b|/dev/tcp/\d"
)

# A message that asks about or explains a topic, rather than instructing the model.
_DISCUSSION_START = re.compile(
    r"^\W*(?:please\s+)?(?:what|how|why|when|where|which|who|is|are|does|do|should|could|would|explain|describe|define|"
    r"summari[sz]e|discuss|compare|tell me (?:about|what|how|why)|write (?:a|an|me a)\b|draft|help me understand|"
    r"give me (?:tips|examples|an overview|a checklist)|i(?:'m| am) (?:writing|reading|studying|researching|learning)|"
    r"in [^.?!]{0,40}\b(?:research|papers?|news|articles?|class|course)|our security|my (?:company|team|boss)|"
    r"this is the transcript|proofread|check the grammar)"
)
_SECOND_PERSON = re.compile(r"\b(?:you|your|yourself|ur)\b")
_THIRD_PERSON = re.compile(r"\b(?:its|their|his|her)\b")


def _sentence(text: str, start: int, end: int) -> str:
    left = max(text.rfind(mark, max(0, start - 300), start) for mark in ".!?\n")
    rights = [pos for pos in (text.find(mark, end, end + 300) for mark in ".!?\n") if pos != -1]
    return text[left + 1 : min(rights) if rights else min(len(text), end + 300)]


def _quoted(text: str, start: int) -> bool:
    before = text[max(0, start - 300) : start]
    return any(before.count(mark) % 2 == 1 for mark in '"`') or before.rfind("“") > before.rfind("”")


def _discussing(text: str, start: int, opening: bool) -> bool:
    """Whether the message, or the line the hit is on, opens as a question or an explanation."""
    if opening:
        return True
    line_start = text.rfind("\n", max(0, start - 2000), start) + 1
    return line_start > 0 and bool(_DISCUSSION_START.search(text[line_start : line_start + 200]))


def _is_mention(text: str, start: int, end: int, opening: bool) -> bool:
    """A hit that talks about an attack rather than making one.

    Someone else's rules ("ignore its instructions"), or a question or explanation in which the
    hit is quoted or not addressed to the model.
    """
    if _THIRD_PERSON.search(text, start, end):
        return True
    if not _discussing(text, start, opening):
        return False
    return _quoted(text, start) or not _SECOND_PERSON.search(_sentence(text, start, end))


@dataclass
class _Hits:
    """Signals by region of the text: an injection is local, so distant weak signals do not add up."""

    regions: dict[int, dict[str, float]] = field(default_factory=dict)

    def add(self, reason: str, weight: float, position: int = 0) -> None:
        region = self.regions.setdefault(position // REGION, {})
        if weight > region.get(reason, 0.0):
            region[reason] = weight

    def merge(self, other: _Hits, position: int) -> None:
        for reason, weight in other.weights.items():
            self.add(reason, weight, position)

    @property
    def weights(self) -> dict[str, float]:
        """The strongest weight of each reason anywhere in the text."""
        strongest: dict[str, float] = {}
        for region in self.regions.values():
            for reason, weight in region.items():
                strongest[reason] = max(weight, strongest.get(reason, 0.0))
        return strongest

    def score(self) -> float:
        """1 - Π(1 - weight) over the reasons of the worst two neighbouring regions."""
        best = 0.0
        for index, region in self.regions.items():
            combined = dict(self.regions.get(index + 1, {}))
            for reason, weight in region.items():
                combined[reason] = max(weight, combined.get(reason, 0.0))
            remaining = 1.0
            for weight in combined.values():
                remaining *= 1.0 - weight
            best = max(best, 1.0 - remaining)
        return round(best, 4)


MENTION_SCALE = 0.45
REGION = 512


def _match_rules(text: str, opening: bool) -> _Hits:
    hits = _Hits()
    for (reason, weight, pattern, mention_sensitive), triggers in zip(_RULES, _TRIGGERS, strict=True):
        for match in _finditer(pattern, text, triggers):
            scale = (
                MENTION_SCALE if mention_sensitive and _is_mention(text, match.start(), match.end(), opening) else 1.0
            )
            hits.add(reason, weight * scale, match.start())
    _match_exfiltration(text, opening, hits)
    _match_tool_abuse(text, opening, hits)
    return hits


def _match_exfiltration(text: str, opening: bool, hits: _Hits) -> None:
    for count, verb in enumerate(_finditer(_EXFIL_VERB, text, _SENSITIVE_TRIGGERS)):
        if count >= 200:
            break
        window = text[max(0, verb.start() - 160) : verb.end() + 200]
        if not _SENSITIVE_RE.search(window):
            continue
        # Naming where to send it makes it an operation, not a discussion.
        if _DESTINATION_RE.search(window):
            hits.add("exfiltration", 0.85, verb.start())
            continue
        weight = 0.6 if _EVERYONE.search(window) else 0.4
        if _is_mention(text, verb.start(), verb.end(), opening):
            weight *= MENTION_SCALE
        hits.add("exfiltration", weight, verb.start())


def _match_tool_abuse(text: str, opening: bool, hits: _Hits) -> None:
    checks = (
        (_DESTRUCTIVE_RE, 0.4, _DESTRUCTIVE_TRIGGERS),
        (_PIPE_TO_SHELL, 0.55, ("curl", "wget")),
        (_PRIVILEGE, 0.5, _PRIVILEGE_TRIGGERS),
    )
    for pattern, base, triggers in checks:
        for count, match in enumerate(_finditer(pattern, text, triggers)):
            if count >= 50:
                break
            before = text[max(0, match.start() - 80) : match.start()]
            weight = 0.85 if _EXEC_RE.search(before) or _IMPERATIVE.search(before) else base
            if _is_mention(text, match.start(), match.end(), opening):
                weight *= MENTION_SCALE
            hits.add("tool abuse", weight, match.start())
    match = next(_finditer(_DISABLE_SAFETY, text, _DISABLE_TRIGGERS), None)
    if match:
        weight = 0.75 * (MENTION_SCALE if _is_mention(text, match.start(), match.end(), opening) else 1.0)
        hits.add("tool abuse", weight, match.start())


# Hidden payloads


_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX_RUN = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}(?:[ :]|\\x)?){12,}")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})")
# Runs of escapes, with the plain characters that may sit between them.
_URL_RUN = re.compile(r"%[0-9A-Fa-f]{2}(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9._~+-]){11,}")
_UNICODE_RUN = re.compile(
    r"(?:\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2})(?:\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|[ A-Za-z0-9.,'-]){7,}"
)
_HTML_RUN = re.compile(r"&#?x?[0-9a-zA-Z]{1,8};(?:&#x?[0-9a-fA-F]{1,6};|&[a-z]{2,8};|[ A-Za-z0-9.,'-]){7,}")
_COMMON_WORDS = frozenset(
    _triggers(
        "the and you your to of is are in for that this with all now me my not it on what how do tell ignore "
        "instructions previous please from as an if",
        separator=" ",
    )
)
_ROT13_COMMON = frozenset(codecs.encode(word, "rot13") for word in _COMMON_WORDS) - _COMMON_WORDS
_REVERSED_COMMON = frozenset(word[::-1] for word in _COMMON_WORDS) - _COMMON_WORDS


def _words_pattern(words: frozenset[str]) -> re.Pattern[str]:
    alternatives = "|".join(sorted(words, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\b")


_COMMON_RE = _words_pattern(_COMMON_WORDS)
_ROT13_RE = _words_pattern(_ROT13_COMMON)
_REVERSED_RE = _words_pattern(_REVERSED_COMMON)


def _readable(data: bytes) -> str | None:
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(ch.isprintable() or ch in "\n\t" for ch in decoded)
    if len(decoded) < 8 or printable < 0.9 * len(decoded) or not re.search(r"[A-Za-z]{3}", decoded):
        return None
    return decoded


def _decode_base64(run: str) -> str | None:
    padded = run + "=" * (-len(run) % 4)
    try:
        data = base64.b64decode(padded, altchars=b"-_" if ("-" in run or "_" in run) else None, validate=True)
    except (binascii.Error, ValueError):
        return None
    return _readable(data)


def _decode_hex(run: str) -> str | None:
    digits = re.sub(r"[^0-9A-Fa-f]", "", run.replace("\\x", ""))
    if len(digits) % 2:
        digits = digits[:-1]
    try:
        return _readable(bytes.fromhex(digits))
    except ValueError:
        return None


def _hidden_texts(text: str) -> list[tuple[str, str, int]]:
    """(how it was hidden, decoded text, where) for the payloads in `text`, capped in number and size."""
    found: list[tuple[str, str, int]] = []
    budget = MAX_DECODED_CHARS

    def keep(kind: str, decoded: str | None, position: int) -> None:
        nonlocal budget
        if decoded and budget > 0 and len(found) < MAX_DECODED_SEGMENTS:
            decoded = decoded[:budget]
            budget -= len(decoded)
            found.append((kind, decoded, position))

    def runs(pattern: re.Pattern[str], within: str) -> Iterator[re.Match[str]]:
        return itertools.islice(pattern.finditer(within), MAX_DECODED_SEGMENTS)

    tags = _FLAG_TAGS.sub("", text)
    for run in runs(_TAG_RUN, tags):
        keep("tag characters", "".join(chr(ord(ch) - 0xE0000) for ch in run.group()), run.start())
    for run in runs(_BASE64_RUN, text):
        value = run.group()
        if re.search(r"[A-Z]", value) and re.search(r"[a-z]", value):
            decoded = _decode_base64(value[:MAX_DECODED_CHARS])
            keep("base64", decoded, run.start())
            for inner in itertools.islice(_BASE64_RUN.finditer(decoded or ""), 2):
                keep("base64", _decode_base64(inner.group()), run.start())
    for run in runs(_HEX_RUN, text):
        keep("hex", _decode_hex(run.group()[:MAX_DECODED_CHARS]), run.start())
    if "%" in text:
        for run in runs(_URL_RUN, text):
            if run.group().count("%") >= 3:
                keep("URL-encoding", unquote_plus(run.group()[:MAX_DECODED_CHARS]), run.start())
    if "\\u" in text or "\\x" in text:
        for run in runs(_UNICODE_RUN, text):
            if run.group().count("\\") >= 4:
                decoded = _UNICODE_ESCAPE.sub(lambda m: chr(int(m[1] or m[2], 16)), run.group())
                keep("unicode escapes", decoded, run.start())
    if "&" in text:
        for run in runs(_HTML_RUN, text):
            if run.group().count("&") >= 4:
                keep("HTML entities", html.unescape(run.group()), run.start())
    return found


_WORD = re.compile(r"[a-z]+")
_SEGMENT = re.compile(rf"[^\n]{{12,{CHUNK}}}")


def _deleet(text: str) -> str:
    # "@" and "$" stand for letters only inside a word, so "@ai" and "$5" keep their meaning.
    return _LEET_INSIDE.sub(lambda m: _LEET_SYMBOLS[m.group()], text).translate(_LEET)


_LEET_INSIDE = re.compile(r"(?<=[a-z0-9])[@$!](?=[a-z0-9])")
_LEET_SYMBOLS = {"@": "a", "$": "s", "!": "i"}


def _rewritten_segments(normalised: str) -> list[tuple[str, str, int]]:
    """Lines that hold English only once un-rot13'd, reversed or un-leeted.

    Counting the words that turn into common English words under each rewrite finds them in one
    pass, and still works when a plain-English wrapper ("decode this: ...") shares the line.
    """
    found: list[tuple[str, str, int]] = []
    for match in _SEGMENT.finditer(normalised):
        segment = match.group()
        if segment.count(" ") < 2:
            continue
        plain = len(_COMMON_RE.findall(segment))
        if len(_ROT13_RE.findall(segment)) >= max(3, 0.6 * plain):
            found.append(("rot13", codecs.encode(segment, "rot13"), match.start()))
        if len(_REVERSED_RE.findall(segment)) >= max(3, 0.6 * plain):
            found.append(("reversed text", segment[::-1], match.start()))
        if len(_LEET_WORD.findall(segment)) >= 2:
            deleeted = _deleet(segment)
            if len(_COMMON_RE.findall(deleeted)) >= plain + 2:
                found.append(("leetspeak", deleeted, match.start()))
        if len(found) >= MAX_DECODED_SEGMENTS:
            break
    return found


_SQUASHED_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "instruction override",
        re.compile(
            r"(?:ignore|disregard|forget|override|bypass)(?:all|any|of|the|your|my)*(?:previous|prior|above"
            r"|earlier|system|"
            r"safety)(?:instructions|prompts|rules|guidelines|directives)"
        ),
    ),
    (
        "system prompt extraction",
        re.compile(
            r"(?:reveal|print|show|repeat|output|leak|dump)(?:me)?(?:your|the)(?:system|hidden|initial|original|full)?"
            r"(?:prompt|instructions|contextwindow|systemmessage)"
        ),
    ),
    (
        "role-play jailbreak",
        re.compile(r"doanythingnow|developermode|jailbr(?:o|ea)k|norestrictions|withoutanyrestrictions"),
    ),
    (
        "exfiltration",
        re.compile(
            r"(?:send|upload|post|forward|leak)(?:all|the|your|my|me)?(?:api)?(?:keys|passwords|"
            r"credentials|secrets|tokens|idrsa|sshkeys?|env)"
        ),
    ),
    (
        "tool abuse",
        re.compile(
            r"rmrf|(?:disable|bypass|skip)(?:the)?(?:approval|safety|sandbox|review)|mkfs|iptablesf|"
            r"(?:stop|disable)thefirewall|wget.{0,80}chmod"
        ),
    ),
]


# Scoring

_CONTENT_REASONS = {
    "instruction override",
    "role-play jailbreak",
    "system prompt extraction",
    "fake role marker",
    "exfiltration",
    "tool abuse",
    "indirect injection",
}


def _strongest_content(hits: _Hits) -> float:
    return max((weight for reason, weight in hits.weights.items() if reason in _CONTENT_REASONS), default=0.0)


def screen_text(text: str) -> ScreenResult:
    """Score `text` for prompt injection and name the signals found."""
    if not text:
        return ScreenResult(score=0.0)
    normalised = _normalise(text)
    opening = bool(_DISCUSSION_START.search(normalised.text[:200]))
    hits = _match_rules(normalised.text, opening)

    for kind, decoded, position in _hidden_texts(text) + _rewritten_segments(normalised.text):
        inner = _match_rules(_normalise(decoded).text, opening=False)
        if _strongest_content(inner) >= 0.5:
            hits.merge(inner, position)
            trick = f"encoded instructions ({kind})" if kind != "leetspeak" else "obfuscated text (leetspeak)"
            hits.add(trick, 0.7, position)
        elif kind == "tag characters":
            hits.add("hidden text (tag characters)", 0.6, position)

    tricks = normalised.tricks
    if "spaced-out letters" in tricks:
        squashed = re.sub(r"[^a-z]", "", normalised.joined[:MAX_DECODED_CHARS])
        for reason, pattern in _SQUASHED_RULES:
            if pattern.search(squashed):
                hits.add(reason, 0.8)
    # Look-alike letters or invisible characters only matter where there is something to hide.
    content_regions = [index for index, region in hits.regions.items() if set(region) & _CONTENT_REASONS]
    for trick in tricks:
        for index in content_regions:
            hits.add(f"obfuscated text ({trick})", 0.6, index * REGION)
        if not content_regions:
            hits.add(f"obfuscated text ({trick})", 0.25)

    strongest = hits.weights
    reasons = [reason for reason, _ in sorted(strongest.items(), key=lambda item: -item[1])]
    score = hits.score()
    return ScreenResult(score=score, reasons=reasons)
