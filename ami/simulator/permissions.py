"""manager.conf permission classes, enforced the way Asterisk 22 enforces them.

An action is allowed when the user's write classes share at least one class with the action's
authority (Asterisk's manager.c checks ``writeperm & authority``, so ``Hangup`` registered as
system|call passes with ``call`` alone). An event reaches a session only when the user's read classes
hold the event's class. Seen on a real Asterisk 22 (tests/fixtures/asterisk/transcripts/least-privilege-user).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Classes a manager.conf ``read``/``write`` line may name (``all`` means every one of them).
CLASSES = frozenset({
    "system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf", "reporting",
    "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test", "security", "message",
})

# Write authority of the actions the simulator answers; an empty set means "anyone logged in".
ACTION_AUTHORITY: dict[str, frozenset[str]] = {
    "login": frozenset(),
    "logoff": frozenset(),
    "ping": frozenset(),
    "originate": frozenset({"originate"}),
    "redirect": frozenset({"call"}),
    "hangup": frozenset({"system", "call"}),
    "status": frozenset({"system", "call", "reporting"}),
    "coreshowchannels": frozenset({"system", "reporting"}),
    "confbridgelist": frozenset({"reporting"}),
    "mixmonitor": frozenset({"system"}),
    "command": frozenset({"command"}),
    "dbget": frozenset({"system", "reporting"}),    # main/db.c
    "dbput": frozenset({"system"}),
    "dbdel": frozenset({"system"}),
}

# Asterisk refuses an Originate of these applications (substring, any case) to a user without the
# ``system`` write class: they reach the shell or the disk (manager.c, action_originate).
_FORBIDDEN_APPS = ("system", "exec", "mixmonitor", "externalivr", "originate")
_FORBIDDEN_DATA = ("SHELL", "EVAL")
ORIGINATE_FORBIDDEN = "Originate Access Forbidden: app or data blacklisted"


_POSIX_CLASSES = {"[[:space:]]": r"\s", "[[:digit:]]": r"\d", "[[:alpha:]]": "[A-Za-z]", "[[:alnum:]]": "[A-Za-z0-9]"}


class PermissionSpecError(ValueError):
    """A read/write line names a class that manager.conf does not know."""


def parse_classes(spec: str, *, setting: str = "read") -> frozenset[str]:
    """``"call,agent,user"`` → the set of classes; ``all`` expands to every class."""
    names = {part.strip().lower() for part in spec.split(",") if part.strip()}
    if "all" in names:
        return CLASSES
    unknown = names - CLASSES
    if unknown:
        raise PermissionSpecError(
            f"{setting} = {spec!r}: unknown class(es) {', '.join(sorted(unknown))}; "
            f"use some of {', '.join(sorted(CLASSES))} or all")
    return frozenset(names)


@dataclass(frozen=True)
class EventFilter:
    """One legacy ``eventfilter`` line: a regex on the event text; ``!`` in front excludes."""
    pattern: re.Pattern[str]
    include: bool

    @classmethod
    def parse(cls, line: str) -> EventFilter:
        include = not line.startswith("!")
        pattern = line if include else line[1:]
        # Asterisk compiles POSIX extended regexes; Python's re lacks the [[:class:]] brackets.
        for posix, python in _POSIX_CLASSES.items():
            pattern = pattern.replace(posix, python)
        try:
            return cls(re.compile(pattern), include)
        except re.error as exc:
            raise PermissionSpecError(f"eventfilter = {line!r}: not a regular expression ({exc})") from None


@dataclass(frozen=True)
class User:
    """A manager.conf user section: who may log in, what they may do, what they hear."""
    name: str
    secret: str
    read: frozenset[str]
    write: frozenset[str]
    eventfilters: tuple[EventFilter, ...] = field(default=())

    @classmethod
    def of(cls, name: str, secret: str, read: str = "all", write: str = "all",
           eventfilters: tuple[str, ...] = ()) -> User:
        return cls(name, secret, parse_classes(read, setting="read"), parse_classes(write, setting="write"),
                   tuple(EventFilter.parse(f) for f in eventfilters))

    def __repr__(self) -> str:
        return f"User({self.name!r}, read={sorted(self.read)}, write={sorted(self.write)})"

    def describe_read(self) -> str:
        return _describe(self.read)

    def describe_write(self) -> str:
        return _describe(self.write)

    def may_run(self, action: str) -> bool:
        authority = ACTION_AUTHORITY.get(action.lower(), frozenset())
        return not authority or bool(self.write & authority)

    def may_originate_application(self, application: str, data: str) -> bool:
        if "system" in self.write:
            return True
        app = application.lower()
        return not (any(bad in app for bad in _FORBIDDEN_APPS) or any(bad in data for bad in _FORBIDDEN_DATA))

    def passes_filters(self, event_text: str) -> bool:
        """Asterisk's legacy rule: with include filters, one must match; no exclude filter may match."""
        if not self.eventfilters:
            return True
        includes = [f for f in self.eventfilters if f.include]
        if includes and not any(f.pattern.search(event_text) for f in includes):
            return False
        return not any(f.pattern.search(event_text) for f in self.eventfilters if not f.include)


LEAST_PRIVILEGE_READ = "call,agent,user"
LEAST_PRIVILEGE_WRITE = "originate,call,agent,reporting"


def least_privilege_user(name: str, secret: str) -> User:
    """The dialer's user of config/asterisk/manager.conf: no system, no command, no dialplan events."""
    return User.of(name, secret, LEAST_PRIVILEGE_READ, LEAST_PRIVILEGE_WRITE)


def default_users(secret: str = "change-me") -> dict[str, User]:
    """The two users of the reference manager.conf: everything, and the dialer's least privilege."""
    return {"dialer": User.of("dialer", secret, "all", "all"), "dialer-lp": least_privilege_user("dialer-lp", secret)}


def _describe(classes: frozenset[str]) -> str:
    return "all" if classes == CLASSES else ",".join(sorted(classes)) or "-"


def users_from_manager_conf(text: str, *, source: str = "manager.conf") -> dict[str, User]:
    """The users of a manager.conf (secret, read, write, eventfilter lines), so the simulator can run
    with the very file a real Asterisk gets. Other settings (permit, writetimeout ...) are ignored."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1].strip()
            current = None if name == "general" else sections.setdefault(name, {})
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise PermissionSpecError(f"{source} line {number}: expected `key = value`, got {raw.strip()!r}")
        if current is not None:
            current.setdefault(key.strip().lower(), []).append(value.lstrip(">").strip())
    users = {}
    for name, settings in sections.items():
        if "secret" not in settings:
            raise PermissionSpecError(f"{source} [{name}]: no secret; every AMI user needs one")
        users[name] = User.of(name, settings["secret"][-1], ",".join(settings.get("read", [""])),
                              ",".join(settings.get("write", [""])), tuple(settings.get("eventfilter", [])))
    return users
