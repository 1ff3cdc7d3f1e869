"""What a runbook command does to production, judged from its words.

Two questions: is it destructive (it deletes, stops, restores, rolls back or scales to
zero, so the step is `dangerous: true` and needs confirmation), and does it need a
person at a terminal (a prompt, a pager, a log it follows forever), so that it becomes a
`manual` step instead of one that would hang until its time limit.

Every rule is a row in a table with the reason the report shows; a rule looks at the
program and its subcommands, never at free text such as a message argument, so
`notify-team.sh "Rollback completed"` is not a rollback.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass

from opsbook.playbooks.importer import shellsyntax as sh

_WRAPPERS = frozenset(
    ["sudo", "env", "nohup", "nice", "time", "timeout", "xargs", "exec", "command", "stdbuf",
     "ionice", "chronic"]
)  # fmt: skip
# Options of a wrapper that take a value (`sudo -u postgres psql`).
_WRAPPER_ARGS = {
    "sudo": {"-u", "-g", "-C"},
    "nice": {"-n"},
    "xargs": {"-n", "-I", "-P", "-L", "-d", "-s", "-a", "-E"},
    "timeout": {"-s", "-k"},
    "ionice": {"-c", "-n"},
}
_VERBS = frozenset(
    [
        "rollback",
        "restore",
        "revert",
        "undo",
        "reset",
        "wipe",
        "purge",
        "destroy",
        "teardown",
        "uninstall",
        "drop",
        "delete",
        "flush",
        "flushdb",
        "flushall",
        "truncate",
        "remove",
        "rm",
        "rmi",
        "prune",
    ]
)
_DRY_RUN = re.compile(r"^--?(dry-?run|check|noop|what-if)(=.*)?$")


@dataclass(frozen=True)
class Command:
    """One simple command: its program (basename) and the words after it."""

    program: str
    args: tuple[str, ...]
    piped_input: bool  # reads what an earlier command in the pipeline writes

    @property
    def subcommands(self) -> list[str]:
        words: list[str] = []
        skip_next = False
        for word in self.args:
            if skip_next:
                skip_next = False
                continue
            if word.startswith("-"):
                continue
            if re.fullmatch(r"[\w:./@+-]+", word):
                words.append(word)
            if len(words) == 3:
                break
        return words

    def has(self, *options: str) -> bool:
        return any(a == o or a.startswith(o + "=") for a in self.args for o in options)

    def short_flag(self, letter: str) -> bool:
        return any(re.fullmatch(rf"-[a-zA-Z]*{letter}[a-zA-Z]*", a) for a in self.args)


def _unwrap(words: list[str]) -> list[str]:
    _, words = sh.split_assignments(words)
    while words and posixpath.basename(words[0]) in _WRAPPERS:
        wrapper = posixpath.basename(words[0])
        takes = _WRAPPER_ARGS.get(wrapper, set())
        index = 1
        while index < len(words) and words[index].startswith("-"):
            index += 2 if words[index] in takes else 1
        if wrapper == "timeout" and index < len(words):
            index += 1  # the duration
        _, words = sh.split_assignments(words[index:])
    return words


def commands(text: str) -> list[Command]:
    """The simple commands in `text`, with wrappers (`sudo`, `xargs`…) and leading
    `NAME=value` words removed. `watch 'cmd'` yields both watch and cmd."""
    out: list[Command] = []
    for operator, found in sh.linked_segments(text):
        words = _unwrap(found)
        if not words:
            continue
        program = posixpath.basename(words[0])
        out.append(Command(program, tuple(words[1:]), piped_input=operator == "|"))
        inner = _exec_inside(program, words[1:])
        if inner:
            out.append(Command(posixpath.basename(inner[0]), tuple(inner[1:]), operator == "|"))
        if program == "watch":
            inner = [w for w in words[1:] if not w.startswith("-") and not w.isdigit()]
            if inner:
                out.extend(commands(" ".join(inner) if len(inner) > 1 else inner[0]))
    return out


_EXEC_VALUE_OPTIONS = {"-u", "--user", "-e", "--env", "-w", "--workdir", "-c", "--container",
                       "-n", "--namespace", "--index"}  # fmt: skip


def _exec_inside(program: str, args: list[str]) -> list[str]:
    """The command run by `docker exec -i db psql …` or `kubectl exec pod -- sh`."""
    if program not in ("docker", "docker-compose", "podman", "kubectl", "oc"):
        return []
    head = args[:4]
    if "exec" not in head or not all(w.startswith("-") or w == "compose" or "." in w
                                     for w in head[: head.index("exec")]):  # fmt: skip
        return []  # only global options (`-f docker-compose.prod.yml`) may come first
    rest = args[head.index("exec") + 1 :]
    if "--" in rest:
        return rest[rest.index("--") + 1 :]
    index = 0
    while index < len(rest) and rest[index].startswith("-"):
        index += 2 if rest[index] in _EXEC_VALUE_OPTIONS else 1
    return rest[index + 1 :]  # after the container or service


def _loads_dump(c: Command) -> bool:
    """psql or mysql fed from a pipe or a file: a dump being loaded, i.e. a restore."""
    if c.program not in ("psql", "mysql", "mongorestore", "pg_restore"):
        return False
    return c.piped_input or any(a == "<" or (a.startswith("<") and a[1:2] != "(") for a in c.args)


Rule = tuple[str, Callable[[Command], bool]]

_DOCKER = {"docker", "docker-compose", "podman", "nerdctl"}
_CLOUD = {"gcloud", "aws", "az", "doctl", "heroku", "flyctl", "fly", "railway", "vercel"}


def _subs(c: Command) -> list[str]:
    return [s.lower() for s in c.subcommands]


def _docker_sub(c: Command) -> list[str]:
    subs = _subs(c)
    if c.program == "docker" and subs[:1] == ["compose"]:
        return subs[1:]
    return subs


def _scales_to_zero(c: Command) -> bool:
    args = list(c.args)
    for index, arg in enumerate(args):
        if re.fullmatch(r"--(replicas|min-instances|max-instances|num-nodes|instances|size)=0",
                        arg):  # fmt: skip
            return True
        if arg in ("--replicas", "--min-instances", "--max-instances", "--num-nodes") and (
            index + 1 < len(args) and args[index + 1] == "0"
        ):
            return True
    return "scale" in _subs(c) and any(re.fullmatch(r"[\w.-]+=0", a) for a in args)


def _verb_in_name(c: Command) -> bool:
    """`./scripts/full-rollback.sh`, `pg_restore`, `deploy.sh rollback`,
    `npm run migration:revert`, `firebase-admin reset-sync`; but not a name given as an
    argument (`backup create pre-rollback`)."""
    if any(_DRY_RUN.match(a) for a in c.args) or any("dry-run" in s for s in c.subcommands):
        return False
    if _VERBS.intersection(re.split(r"[-_:./@+]", c.program.lower())):
        return True
    for word in c.subcommands:
        lowered = word.lower()
        first = re.split(r"[-_.]", lowered)[0]
        last = lowered.rsplit(":", 1)[-1]
        if first in _VERBS or re.split(r"[-_.]", last)[0] in _VERBS:
            return True
    return False


def _deletes_files(c: Command) -> bool:
    return c.program == "find" and (c.has("-delete") or ("-exec" in c.args and "rm" in c.args))


def _removes_containers(c: Command) -> bool:
    return c.program in _DOCKER and bool({"rm", "rmi", "prune", "down", "kill"}
                                         & set(_docker_sub(c)[:2]))  # fmt: skip


def _stops_service(c: Command) -> bool:
    if c.program in _DOCKER:
        return _docker_sub(c)[:1] == ["stop"]
    if c.program == "systemctl":
        return bool({"stop", "disable", "mask", "kill"} & set(_subs(c)[:1]))
    return c.program == "service" and _subs(c)[1:2] == ["stop"]


def _reboots(c: Command) -> bool:
    if c.program == "systemctl":
        return _subs(c)[:1] in (["reboot"], ["poweroff"], ["halt"])
    return c.program in ("reboot", "shutdown", "poweroff", "halt")


def _deletes_cloud(c: Command) -> bool:
    return c.program in _CLOUD and any(
        s == "delete" or s.startswith("delete-") or s in ("rm", "destroy") for s in _subs(c)
    )


def _database_failover(c: Command) -> bool:
    subs = _subs(c)
    return (
        c.program == "gcloud"
        and subs[:1] in (["sql"], ["redis"])
        and bool({"restart", "failover", "restore-backup"} & set(subs))
    )


def _redis_deletes(c: Command) -> bool:
    words = {a.lower() for a in c.args}
    return c.program == "redis-cli" and bool({"del", "unlink", "flushdb", "flushall"} & words)


def _force_push(c: Command) -> bool:
    return (
        c.program == "git"
        and _subs(c)[:1] == ["push"]
        and (c.has("--force", "--force-with-lease") or c.short_flag("f"))
    )


def _discards_git(c: Command) -> bool:
    sub = _subs(c)[:1]
    return c.program == "git" and (
        (sub == ["reset"] and c.has("--hard")) or (sub == ["clean"] and c.short_flag("f"))
    )


def _overwrites_disk(c: Command) -> bool:
    if c.program == "dd":
        return any(a.startswith("of=") for a in c.args)
    return c.program.startswith("mkfs") or c.program == "wipefs"


def _is_kubectl(c: Command, *subcommands: str) -> bool:
    return c.program in ("kubectl", "oc") and _subs(c)[: len(subcommands)] == list(subcommands)


# (reason shown in the report, test). The last rule only counts when no other did.
DESTRUCTIVE_RULES: list[Rule] = [
    ("deletes files (rm)", lambda c: c.program in ("rm", "rmdir", "shred", "unlink")),
    ("deletes files (find -delete)", _deletes_files),
    ("empties a file (truncate)", lambda c: c.program == "truncate"),
    ("removes containers, images or volumes", _removes_containers),
    ("stops a service", _stops_service),
    ("reboots or shuts down the machine", _reboots),
    ("kills processes", lambda c: c.program in ("kill", "pkill", "killall")),
    ("deletes Kubernetes objects or drains a node",
     lambda c: _is_kubectl(c, "delete") or _is_kubectl(c, "drain")),
    ("rolls back a deployment (rollout undo)", lambda c: _is_kubectl(c, "rollout", "undo")),
    ("scales to zero", _scales_to_zero),
    ("deletes cloud resources", _deletes_cloud),
    ("restarts or fails over a managed database (connections drop)", _database_failover),
    ("changes a database password (clients with the old one fail)",
     lambda c: c.program == "gcloud" and "set-password" in _subs(c)),
    ("moves production traffic between revisions",
     lambda c: c.program == "gcloud" and "update-traffic" in _subs(c)),
    ("deletes Redis keys or flushes a database", _redis_deletes),
    ("rewrites shared Git history (push --force)", _force_push),
    ("discards local Git changes", _discards_git),
    ("formats or overwrites a disk", _overwrites_disk),
    ("loads a dump into a database (a restore)", _loads_dump),
    ("deletes data (--delete / --purge)", lambda c: c.has("--delete", "--purge", "--prune")),
    ("restores, rolls back, resets or deletes (says so in its name)", _verb_in_name),
]  # fmt: skip

_DROP = re.compile(
    r"\bDROP\s+(TABLE|DATABASE|SCHEMA|INDEX|VIEW|MATERIALIZED|EXTENSION|USER|ROLE|OWNED|"
    r"FUNCTION|TRIGGER|SEQUENCE|TYPE)\b",
    re.IGNORECASE,
)
# SQL handed to psql -c inside a shell command.
_SQL_IN_TEXT: list[tuple[re.Pattern[str], str]] = [
    (_DROP, "drops a database object (DROP)"),
    (re.compile(r"\bDELETE\s+FROM\b", re.I), "deletes rows (DELETE)"),
    (re.compile(r"\bTRUNCATE\s+(TABLE\s+)?[\w.\"]+", re.I), "empties a table (TRUNCATE)"),
    (re.compile(r"\bpg_terminate_backend\s*\(", re.I),
     "ends other sessions (pg_terminate_backend)"),
    (re.compile(r"\bpg_cancel_backend\s*\(", re.I),
     "cancels other sessions' queries (pg_cancel_backend)"),
]  # fmt: skip


def _empties_file(text: str) -> bool:
    """`> app.log` or `: > app.log`: a redirect with no command truncates the file."""
    joined = text.replace("\\\n", " ")
    ctx = sh.contexts(joined)
    bare = "".join(c if ctx[i] == sh.UNQUOTED else "x" for i, c in enumerate(joined))
    return bool(re.search(r"(?:^|[;&|\n(]|\bthen|\bdo)\s*(?::\s*)?>\s*[^\s>&|]", bare))


def danger(text: str) -> list[str]:
    """Why the shell text is destructive (empty: it is not)."""
    reasons: list[str] = []
    for command in commands(text):
        if any(_DRY_RUN.match(a) for a in command.args):
            continue
        found = [reason for reason, test in DESTRUCTIVE_RULES[:-1] if test(command)]
        if not found and _verb_in_name(command):
            found.append(DESTRUCTIVE_RULES[-1][0])
        reasons.extend(r for r in found if r not in reasons)
    if _empties_file(text):
        reasons.append("empties a file (> file)")
    for pattern, reason in _SQL_IN_TEXT:
        if pattern.search(text) and reason not in reasons:
            reasons.append(reason)
    return reasons


def _interactive_session(c: Command) -> str | None:
    positional = [a for a in c.args if not a.startswith("-")]
    if c.program in ("htop", "top", "atop", "vi", "vim", "nano", "emacs",
                     "tmux", "screen", "btop", "iotop", "nethogs", "mc"):  # fmt: skip
        return f"{c.program} is a full-screen program"
    if c.program == "gcloud" and c.subcommands[:2] == ["sql", "connect"]:
        return "opens an interactive database session"
    if c.program in ("psql", "mysql", "mongo", "mongosh", "sqlite3"):
        scripted = c.has("-c", "--command", "-f", "--file", "-l", "--list", "-e", "--execute",
                         "--eval")  # fmt: skip
        if (
            not scripted
            and not c.piped_input
            and not (c.program == "sqlite3" and len(positional) > 1)
        ):
            return "opens an interactive database session"
    if (
        c.program == "redis-cli"
        and not positional
        and not c.has("--scan", "--bigkeys", "--memkeys", "--stat")
    ):
        return "opens an interactive Redis session"
    if c.program == "ssh" and len(positional) <= 1:
        return "opens an interactive remote session"
    container = c.program in ("docker", "kubectl", "oc", "podman")
    sub = c.subcommands[:1]
    if container and (sub == ["attach"] or (sub in (["exec"], ["run"]) and
                                             (c.short_flag("t") or c.has("--tty")))):  # fmt: skip
        return "opens an interactive terminal in a container"
    return None


def _follows(c: Command) -> str | None:
    if c.program == "watch":
        return "repeats until someone stops it (watch)"
    if c.program in ("tail", "journalctl") and (
        c.short_flag("f") or c.short_flag("F") or c.has("--follow")
    ):
        return "follows output until someone stops it"
    if "logs" in c.subcommands[:2]:
        after = Command(c.program, c.args[c.args.index("logs") + 1 :], c.piped_input)
        if after.short_flag("f") or after.has("--follow"):
            return "follows output until someone stops it"
    if (
        c.program in ("docker", "podman")
        and c.subcommands[:1] == ["stats"]
        and not c.has("--no-stream")
    ):
        return "shows live figures until someone stops it"
    if c.program in ("kubectl", "oc") and (
        (c.short_flag("w") and c.subcommands[:1] == ["get"]) or c.has("--watch")
    ):
        return "watches until someone stops it"
    return None


def _prompts(c: Command) -> str | None:
    if (
        c.program in ("apt", "apt-get", "yum", "dnf")
        and bool(
            {"install", "upgrade", "dist-upgrade", "full-upgrade", "remove", "purge", "autoremove"}
            & set(c.subcommands[:1])
        )
        and not (c.has("--yes", "--assume-yes") or c.short_flag("y"))
    ):
        return "asks for confirmation (no -y)"
    if c.program == "read":
        return "reads an answer from the terminal"
    if (
        c.program in ("gunicorn", "uvicorn", "hypercorn", "daphne")
        and not c.has("--daemon")
        and not c.short_flag("D")
    ):
        return "runs a server in the foreground until someone stops it"
    if c.program in ("npm", "yarn", "pnpm") and (
        c.subcommands[:1] == ["start"] or c.subcommands[:2] == ["run", "dev"]
    ):
        return "runs a server in the foreground until someone stops it"
    return None


def interactive(text: str) -> str | None:
    """Why the command needs a person at a terminal (None: it runs unattended)."""
    if re.search(r"(?<![&|])&\s*$", text.strip()):
        return None  # sent to the background: it does not hold the step
    for command in commands(text):
        for check in (_interactive_session, _follows, _prompts):
            reason = check(command)
            if reason:
                return reason
    return None


def is_bash(text: str) -> bool:
    """Whether the text needs bash rather than /bin/sh (a step's script runs in sh)."""
    first = text.lstrip().split("\n", 1)[0]
    if first.startswith("#!") and "bash" in first:
        return True
    ctx = sh.contexts(text)
    bare = "".join(c if ctx[i] == sh.UNQUOTED else " " for i, c in enumerate(text))
    return bool(
        re.search(
            r"\[\[|\bsource\s|\bfunction\s+\w|<<<|&>|\$'|\bselect\s+\w+\s+in\b|"
            r"\bdeclare\b|\blocal\s+-|\bshopt\b|\bpushd\b|\bpopd\b|\w=\(|"
            r"\becho\s+-e\b|\bread\s+-[a-z]*p|\bset\s+-o\s+pipefail",
            bare,
        )
        or re.search(r"\$\{\w+(//|:\d|\^|,)", text)
        or re.search(r"(?<![\w$])\{[\w.-]*,[\w.,-]*\}", bare)
    )


def grep_last(text: str) -> bool:
    """The command's exit status is grep's: 1 means "no match", not a failure."""
    found = commands(text)
    return bool(found) and found[-1].program in ("grep", "egrep", "fgrep", "zgrep", "rg")
