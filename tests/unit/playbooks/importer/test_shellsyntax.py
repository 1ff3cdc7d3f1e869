"""Quoting contexts, shell features, words and variables of runbook commands."""

from __future__ import annotations

import re

import pytest

from opsbook.playbooks.importer import shellsyntax as sh


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("""echo 'a $B' "c $D" e # f""", "uuuuussssssudddddduuuccc"),
        ("cat <<EOF\nhi $X\nEOF\nls", "uuuuuuuuuuhhhhhhuuuuuu"),
        ("cat <<'E'\n$x\nE", "uuuuuuuuuuHHHu"),
        ('a $(b "c" $(d)) e', "uuuuuuddduuuuuuuu"),
        ("x \\\n y", "uuueuu"),
        ("find . -exec gzip {} \\;", "u" * 22 + "e"),
        ('echo "a\nb" c', "uuuuuddddduu"),
    ],
)
def test_contexts(text: str, expected: str) -> None:
    assert sh.contexts(text) == expected


@pytest.mark.parametrize(
    ("text", "features"),
    [
        ("gcloud sql instances describe guesslyfe-db", ()),
        ('redis-cli DEL "queue:*"', ()),
        ("kubectl get x -o jsonpath='{.spec}'", ()),
        ("find /var/log -name '*.gz' -exec gzip {} \\;", ()),
        ("gcloud run services update x \\\n  --region=us-central1", ()),
        ("ls backups/ | tail -10", ("pipe",)),
        ("docker compose logs [service]", ("glob",)),
        ("pg_dump -d x > backup.sql", ("redirect",)),
        ("docker-compose build && docker-compose up -d", ("and-or list",)),
        ("psql $DATABASE_URL -c 'SELECT 1'", ("expansion",)),
        ('echo "$(date)"', ("expansion", "subshell")),
        ("./x.sh 10  # 10% to green", ("comment",)),
        ("FOO=1 ./run.sh", ("variable assignment",)),
        ("cp ~/.env .", ("home directory",)),
        ("echo {a,b}", ("brace expansion",)),
        ("sleep 5 &", ("background",)),
    ],
)
def test_shell_features(text: str, features: tuple[str, ...]) -> None:
    assert sh.syntax(text).features == features


def test_argv_joins_continuations_like_the_shell() -> None:
    assert sh.argv("gcloud x \\\n  --region=us \\\n  --y") == ["gcloud", "x", "--region=us", "--y"]
    assert sh.argv("echo \"a\\\nb\" 'c\\\nd'") == ["echo", "ab", "c\\\nd"]


def test_strip_comment_keeps_quoted_hashes() -> None:
    assert sh.strip_comment("./x.sh 10  # 10% to green") == ("./x.sh 10", "10% to green")
    assert sh.strip_comment("echo '#1' \"#2\"") == ("echo '#1' \"#2\"", "")
    assert sh.strip_comment("echo ${#x}") == ("echo ${#x}", "")


def test_environment_needs_leave_out_what_the_script_sets() -> None:
    script = """\
X=1; echo $X $Y "${Z}" '$NOT_EXPANDED' ${WITH_DEFAULT:-x}
for k in a b; do echo $k; done
read -p "Continue?" confirm; echo $confirm $HOME $OPSBOOK_PARAM_A
export E=2; echo $E
"""
    assert sh.environment_needs(script) == ["Y", "Z"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cp backups/[date]/x .", 'cp backups/"${OPSBOOK_PARAM_DATE}"/x .'),
        ("echo 'a [date]'", "echo 'a '\"${OPSBOOK_PARAM_DATE}\"''"),
        ('echo "b [date]"', 'echo "b ${OPSBOOK_PARAM_DATE}"'),
        ("cat <<EOF\n[date]\nEOF", "cat <<EOF\n${OPSBOOK_PARAM_DATE}\nEOF"),
        ("cat <<'EOF'\n[date]\nEOF", "cat <<'EOF'\n[date]\nEOF"),
    ],
)
def test_substitute_quotes_for_each_context(text: str, expected: str) -> None:
    spans = [(m.start(), m.end(), "OPSBOOK_PARAM_DATE") for m in re.finditer(r"\[date\]", text)]
    assert sh.substitute(text, spans) == expected


def test_linked_segments_know_pipes_from_lists() -> None:
    found = sh.linked_segments("gunzip -c x | PGPASSWORD=$P psql -h h && echo ok || true")
    assert found == [
        ("", ["gunzip", "-c", "x"]),
        ("|", ["PGPASSWORD=$P", "psql", "-h", "h"]),
        ("&&", ["echo", "ok"]),
        ("||", ["true"]),
    ]


def test_a_scanner_carries_state_between_lines() -> None:
    scanner = sh.Scanner()
    scanner.line("cat <<EOF")
    assert scanner.open
    assert scanner.line("body $X") == "hhhhhhhh"
    scanner.line("EOF")
    assert not scanner.open
    scanner.line("echo 'unclosed")
    assert scanner.open
