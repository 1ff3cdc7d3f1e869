"""The public view of an incident: public entries only, reworded so they name nobody."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from opsbook.incidents.model import EventKind, Incident, IncidentStatus, TimelineEntry
from opsbook.statuspage.incidents import public_incident, public_title, public_updates

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def entry(
    minute: int, kind: EventKind, text: str, public: bool = True, actor: str = "alice", **data: str
) -> TimelineEntry:
    return TimelineEntry(7, T0 + timedelta(minutes=minute), kind, actor, text, data, public, minute)


def incident(**changes: object) -> Incident:
    base = Incident(
        id=7,
        title="Checkout fails for some cards",
        severity="P1",
        status=IncidentStatus.IDENTIFIED,
        opened_at=T0,
        services=("web", "ledger", "api"),
        created_by="cli:alice",
    )
    return base.evolve(**changes)


TIMELINE = [
    entry(0, EventKind.DECLARED, "Declared P1: Checkout fails for some cards"),
    entry(1, EventKind.ASSIGNED, "alice is commander (assigned by bob)", public=False),
    entry(2, EventKind.NOTE, "host db-7.internal swapping", public=False),
    entry(3, EventKind.STATUS_UPDATE, "Card payments fail; we are on it."),
    entry(4, EventKind.STATUS_UPDATE, "db-7.internal is out of memory", public=False),
    entry(
        5,
        EventKind.STATUS_CHANGED,
        "Status investigating → identified by bob",
        old="investigating",
        new="identified",
    ),
    entry(6, EventKind.SEVERITY_CHANGED, "Severity P1 → P0 by bob", old="P1", new="P0"),
    entry(9, EventKind.RESOLVED, "Resolved by alice: Payments work again.", actor="alice"),
]


def test_only_public_entries_in_public_words_newest_first() -> None:
    updates = public_updates(TIMELINE)
    assert [(u.status, u.text) for u in updates] == [
        (IncidentStatus.RESOLVED, "Payments work again."),
        (IncidentStatus.IDENTIFIED, "Status changed to identified."),
        (IncidentStatus.INVESTIGATING, "Card payments fail; we are on it."),
        (IncidentStatus.INVESTIGATING, "We are investigating this issue."),
    ]
    shown = " ".join(u.text for u in updates)
    for private in ("alice", "bob", "db-7", "P0", "commander"):
        assert private not in shown


def test_a_resolution_without_a_message_or_with_an_unexpected_text_says_only_resolved() -> None:
    plain = entry(1, EventKind.RESOLVED, "Resolved by alice")
    odd = entry(2, EventKind.RESOLVED, "Closed by alice: see ticket OPS-1", actor="alice")
    assert [u.text for u in public_updates([plain])] == ["This incident has been resolved."]
    assert [u.text for u in public_updates([odd])] == ["This incident has been resolved."]


def test_reopening_and_unknown_statuses() -> None:
    updates = public_updates(
        [
            entry(1, EventKind.REOPENED, "Status resolved → monitoring by bob", new="monitoring"),
            entry(2, EventKind.STATUS_CHANGED, "broken", new="exploded"),
        ]
    )
    assert [(u.status, u.text) for u in updates] == [
        (IncidentStatus.MONITORING, "The incident was reopened (monitoring).")
    ]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(EventKind)),
            st.booleans(),
            st.text(min_size=1, max_size=30),
        ),
        max_size=12,
    )
)
def test_private_entries_never_show_and_no_actor_is_named(
    entries: list[tuple[EventKind, bool, str]],
) -> None:
    timeline = [
        TimelineEntry(
            1, T0 + timedelta(seconds=i), kind, "zz-actor-zz", f"SECRET {text}", {}, public, i
        )
        for i, (kind, public, text) in enumerate(entries)
    ]
    updates = public_updates(timeline)
    for update in updates:
        assert "zz-actor-zz" not in update.text
        if update.text.startswith("SECRET"):
            assert any(
                e.public and e.kind is EventKind.STATUS_UPDATE and e.text.strip() == update.text
                for e in timeline
            )
    assert len(updates) <= sum(1 for e in timeline if e.public)


def test_only_public_components_and_nothing_for_a_private_incident() -> None:
    view = public_incident(incident(), TIMELINE, {"web", "api", "search"})
    assert view is not None
    assert view.components == ("web", "api")
    assert view.title == "Checkout fails for some cards"
    assert view.updated_at == T0 + timedelta(minutes=9)
    assert public_incident(incident(services=("ledger",)), TIMELINE, {"web"}) is None
    assert public_incident(incident(services=()), TIMELINE, {"web"}) is None


def test_alert_opened_incidents_are_titled_after_their_components() -> None:
    opened = incident(created_by="opsbook", title="Disk full on db-7.internal:9100")
    assert public_title(opened, ["web", "api"]) == "Service disruption: web, api"
    assert public_title(incident(), ["web"]) == "Checkout fails for some cards"
