"""`people:`: contacts are receivers named after the person, validated as receivers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from opsbook.config.loader import load_config_text
from opsbook.errors import ConfigError
from opsbook.notify.receivers import Receiver
from opsbook.oncall.people import Person, contact_name, contact_receivers

WEBHOOK = {"webhook": {"url": "https://hooks.example.com/alice"}}
EMAIL = {
    "email": {
        "to": ["alice@example.com"],
        "from": "opsbook@example.com",
        "smarthost": "smtp.example.com:587",
    }
}


def test_contacts_become_receivers_named_after_the_person() -> None:
    alice = Person.model_validate(
        {"name": "alice", "full_name": "Alice Meyer", "contacts": [WEBHOOK, EMAIL]}
    )
    receivers = alice.receivers()
    assert [r.name for r in receivers] == ["person.alice.0", "person.alice.1"]
    assert all(isinstance(r, Receiver) for r in receivers)
    assert [r.channel_name for r in receivers] == ["webhook", "email"]
    assert receivers[1].config.to == ["alice@example.com"]  # type: ignore[attr-defined]
    assert alice.reachable
    assert contact_name("alice", 1) == "person.alice.1"


def test_a_person_without_contacts_is_allowed_but_unreachable() -> None:
    bob = Person(name="bob", handle="@bob", phone="+1-555-0100")
    assert bob.receivers() == []
    assert not bob.reachable
    assert bob.display == "bob (@bob)"
    assert Person(name="carol").display == "carol"


def test_contact_receivers_of_everyone_in_order() -> None:
    people = [
        Person.model_validate({"name": "alice", "contacts": [WEBHOOK]}),
        Person(name="bob"),
        Person.model_validate({"name": "carol", "contacts": [EMAIL, WEBHOOK]}),
    ]
    assert [r.name for r in contact_receivers(people)] == [
        "person.alice.0",
        "person.carol.0",
        "person.carol.1",
    ]


@pytest.mark.parametrize(
    ("contact", "message"),
    [
        ({"name": "mine", **WEBHOOK}, "contacts are named from the person (person.alice.0)"),
        ({**WEBHOOK, **EMAIL}, "a receiver has exactly one channel, found webhook, email"),
        ({}, "a receiver needs one channel block"),
        ({"webhook": {"url": "ftp://x"}}, "expected an http:// or https:// URL"),
    ],
)
def test_bad_contacts_are_refused(contact: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Person.model_validate({"name": "alice", "contacts": [contact]})
    assert message in str(caught.value)


def test_a_contact_error_is_located_in_the_file() -> None:
    text = (
        "project: {name: shop}\n"
        "people:\n"
        "  - name: alice\n"
        "    contacts:\n"
        "      - webhok: {url: 'https://x'}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config_text(text)
    assert [str(i) for i in caught.value.issues] == [
        "opsbook.yaml:5:9 people[0].contacts[0].webhok: unknown key 'webhok'; "
        "did you mean 'webhook'?"
    ]


def test_the_schema_offers_receiver_keys_without_name() -> None:
    schema = Person.model_json_schema()
    items = schema["properties"]["contacts"]["items"]
    assert "name" not in items["properties"]
    assert "name" not in items.get("required", [])
    assert {"webhook", "email", "apprise", "retry", "templates"} <= set(items["properties"])
    assert items["additionalProperties"] is False
