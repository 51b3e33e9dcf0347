"""Reading a shell command without running it: whether it is one plain command, which read-only
commands it may be, and which destructive patterns it contains anywhere.

Two readings on purpose. `simple_words` is strict: any shell metacharacter anywhere, quoted or
not, makes a command not simple, so nothing it could chain, substitute or redirect is ever called
read-only or matched by an allow rule. `segments` is loose: it removes quoting and splits at every
operator, so `"rm" -r -f`, `r\\m -fr` and `x; sudo y` are all seen for what they run, at the cost of
also seeing a destructive pattern inside a quoted argument (which errs towards CRITICAL).
"""

from __future__ import annotations

import posixpath
import re
import shlex

# Anything that chains (; & | newline), redirects (< >), substitutes or expands ($ `), or groups.
METACHARACTERS = frozenset(";&|<>`$(){}\n\r")
# Split points of the loose reading: operators, substitution and grouping.
_OPERATOR = re.compile(r"\|\||&&|[;&|\n\r()`{}<>]|\$\(")
_QUOTING = re.compile(r"[\"'\\]")
_IFS = re.compile(r"\$\{?IFS\}?")
# Words a command may be prefixed with that still run the command after them.
_PREFIX_COMMANDS = {"command", "builtin", "exec", "nohup", "time", "nice", "ionice", "stdbuf", "env", "xargs"}
_PREFIX_COMMANDS_WITH_ARGUMENT = {"timeout"}
SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish", "csh", "tcsh", "busybox"}
INTERPRETERS = SHELLS | {"python", "python3", "perl", "ruby", "node", "php", "eval", "source", "."}
DOWNLOADERS = {"curl", "wget", "fetch"}
_FIND_ACTIONS = {"-exec", "-execdir", "-ok", "-okdir"}


def simple_words(command: str) -> list[str] | None:
    """The words of a command that is one plain command and nothing else, or None.

    None for any metacharacter (even inside quotes: `"$(x)"` still substitutes), unbalanced quotes,
    or no words at all.
    """
    if not isinstance(command, str) or any(char in METACHARACTERS for char in command):
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    return words or None


def segments(command: str) -> list[list[str]]:
    """Every command the text could run, each as words without quoting, split at every operator;
    each command also appears again with its prefixes (`sudo`, `env X=1`, `xargs -0`, `sh -c`,
    `find … -exec`) taken off, so patterns see what finally runs."""
    text = _IFS.sub(" ", command)
    found: list[list[str]] = []
    for piece in _OPERATOR.split(text):
        words = _QUOTING.sub("", piece).split()
        while words:
            found.append(words)
            words = _unwrapped(words)
    return found


def _unwrapped(words: list[str]) -> list[str]:
    """The command a prefixed command runs, or [] when it runs none."""
    name = command_name(words)
    rest = words[1:]
    if name in _PREFIX_COMMANDS or name in ("sudo", "doas"):
        while rest and (rest[0].startswith("-") or "=" in rest[0]):
            rest = rest[1:]
        return rest
    if name in _PREFIX_COMMANDS_WITH_ARGUMENT:
        return rest[1:] if rest else []
    if name in SHELLS and "-c" in rest:
        return rest[rest.index("-c") + 1 :]
    if name == "find":
        for index, word in enumerate(rest):
            if word in _FIND_ACTIONS:
                return rest[index + 1 :]
        return []
    if "=" in words[0] and not words[0].startswith("="):
        return rest
    return []


def command_name(words: list[str]) -> str:
    """`/usr/bin/rm` runs rm."""
    return posixpath.basename(words[0]) if words else ""


def _short_flags(words: list[str]) -> set[str]:
    return {char for word in words if word.startswith("-") and not word.startswith("--") for char in word[1:]}


def _git_subcommand(words: list[str]) -> tuple[str, list[str]]:
    """The subcommand after git's own options (`git -C dir -c k=v push` pushes)."""
    rest = words[1:]
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in ("-C", "-c") and rest:
            rest.pop(0)
    return (rest[0], rest[1:]) if rest else ("", [])


def _destructive_git(words: list[str]) -> str | None:
    sub, args = _git_subcommand(words)
    flags = _short_flags(args)
    if sub == "push":
        if "f" in flags or any(arg.startswith(("--force", "--mirror", "--delete")) for arg in args):
            return "git push --force"
        if "d" in flags or any(arg.startswith(("+", ":")) for arg in args):
            return "git push deleting or overwriting a branch"
    if sub == "reset" and "--hard" in args:
        return "git reset --hard"
    if sub == "clean" and ("f" in flags or "--force" in args):
        return "git clean -f"
    if sub == "branch" and ("D" in flags or ("--delete" in args and "--force" in args)):
        return "git branch -D"
    if sub == "checkout" and ("f" in flags or "--force" in args or ("--" in args and "." in args)):
        return "git checkout discarding changes"
    if sub in ("filter-branch", "filter-repo"):
        return f"git {sub}"
    return None


def _destructive_one(words: list[str]) -> str | None:
    name = command_name(words)
    args = words[1:]
    flags = _short_flags(args)
    if name in ("sudo", "doas", "su"):
        return name
    if name == "rm" and ("r" in flags or "R" in flags or "--recursive" in args or "--no-preserve-root" in args):
        return "rm -rf"
    if name in ("chmod", "chown", "chgrp") and ("R" in flags or "--recursive" in args):
        return f"{name} -R"
    if name == "dd" or name in ("fdisk", "sfdisk", "parted", "wipefs", "shred", "mke2fs") or name.startswith("mkfs"):
        return name
    if name in ("shutdown", "reboot", "halt", "poweroff") or (name == "init" and args[:1] in (["0"], ["6"])):
        return name
    if name == "systemctl" and any(arg in ("poweroff", "reboot", "halt") for arg in args):
        return f"systemctl {next(arg for arg in args if arg in ('poweroff', 'reboot', 'halt'))}"
    if name == "find" and "-delete" in args:
        return "find -delete"
    if name == "git":
        return _destructive_git(words)
    if name == "crontab" and "r" in flags:
        return "crontab -r"
    return None


_FORK_BOMB = re.compile(r"\(\)\{[^}]*\|[^}]*&")
_DEVICE_WRITE = re.compile(r">\s*/dev/(sd|hd|nvme|disk|mmcblk|xvd|vd)")


def destructive_patterns(command: str) -> list[str]:
    """The destructive patterns the command contains anywhere, each named once, in order found."""
    found: list[str] = []

    def add(name: str) -> None:
        if name not in found:
            found.append(name)

    squeezed = "".join(_QUOTING.sub("", command).split())
    if _FORK_BOMB.search(squeezed):
        add("a fork bomb")
    if _DEVICE_WRITE.search(_QUOTING.sub("", command)):
        add("writing to a disk device")
    parts = segments(command)
    for words in parts:
        if name := _destructive_one(words):
            add(name)
    names = {command_name(words) for words in parts}
    if names & DOWNLOADERS and names & INTERPRETERS:
        add("downloading and running a script (curl … | sh)")
    return found


# Read-only commands: each is LOW only as one simple command whose options the check accepts.
READ_ONLY_COMMANDS = (
    "ls",
    "pwd",
    "cat",
    "head",
    "tail",
    "wc",
    "echo",
    "which",
    "grep",
    "rg",
    "find",
    "file",
    "stat",
    "du",
    "df",
    "whoami",
    "date",
    "uname",
    "basename",
    "dirname",
    "realpath",
    "git status",
    "git log",
    "git diff",
    "git show",
)
# Options that make a listed command write files or run other programs.
_WRITING_OPTIONS = {
    "find": ("-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls"),
    "rg": ("--pre",),
    "git": ("--output", "--ext-diff", "--textconv", "-o"),
    "date": ("-s", "--set"),
}


def read_only(words: list[str]) -> bool:
    """Whether these words (of a simple command) are one of READ_ONLY_COMMANDS, with no option
    that writes or runs something else. git takes no options before its subcommand (`-c`, `-C`)."""
    name = words[0]
    if name == "git":
        if len(words) < 2 or f"git {words[1]}" not in READ_ONLY_COMMANDS:
            return False
    elif name not in READ_ONLY_COMMANDS:
        return False
    forbidden = _WRITING_OPTIONS.get(name, ())
    return not any(word == option or word.startswith(option + "=") for word in words[1:] for option in forbidden)
