"""The `people:` of opsbook.yaml: who can be on call, and how to reach each of them.

A contact is written like a receiver without a name (``{email: {...}}``) and validated
as one, named ``person.<name>.<index>``, so paging a person goes through the same
outbox, retries and channels as any other notification.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from opsbook.config.base import Name, Section
from opsbook.notify.receivers import Receiver


def contact_name(person: str, index: int) -> str:
    """The receiver name of a person's `index`-th contact (0-based)."""
    return f"person.{person}.{index}"


class _ContactsSchema:
    """Editors validate contacts against the receiver schema minus `name`: contacts are
    named from the person, so a name written there is an error."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        generated = handler(schema)
        receiver = handler.resolve_ref_schema(generated["items"])
        contact = {key: value for key, value in receiver.items() if key != "title"}
        contact["properties"] = {k: v for k, v in receiver["properties"].items() if k != "name"}
        required = [key for key in receiver.get("required", []) if key != "name"]
        if required:
            contact["required"] = required
        else:
            contact.pop("required", None)
        return {**generated, "items": contact}


class Person(Section):
    name: Name = Field(description="Used in rotations, overrides and escalation targets.")
    full_name: str = Field(default="", description="Shown next to the name, e.g. 'Ana Lima'.")
    handle: str = Field(default="", description="Chat handle, e.g. '@oncall' (display only).")
    email: str | None = Field(default=None, description="Shown in `opsbook oncall who`.")
    phone: str | None = Field(
        default=None, description="Shown in `opsbook oncall who` (display only; not dialled)."
    )
    contacts: Annotated[list[Receiver], _ContactsSchema] = Field(
        default_factory=list,
        description="How a page reaches this person: channel blocks like a receiver's "
        "({webhook: ...}, {email: ...}, {apprise: ...}), without a name.",
    )

    @model_validator(mode="before")
    @classmethod
    def _name_contacts(cls, data: Any) -> Any:
        """Give each contact its receiver name before it is validated as a receiver."""
        if not isinstance(data, dict) or not isinstance(data.get("contacts"), list):
            return data
        person = data.get("name")
        prefix = person if isinstance(person, str) else "?"
        named: list[Any] = []
        for index, contact in enumerate(data["contacts"]):
            if isinstance(contact, dict):
                if "name" in contact:
                    raise ValueError(
                        f"contacts[{index}] has a name; contacts are named from the person "
                        f"({contact_name(prefix, index)}): remove `name:`"
                    )
                contact = {"name": contact_name(prefix, index), **contact}
            named.append(contact)
        return {**data, "contacts": named}

    @property
    def reachable(self) -> bool:
        """Whether paging this person delivers anything (a person without contacts is
        still shown on the calendar)."""
        return bool(self.contacts)

    def receivers(self) -> list[Receiver]:
        """The contacts as receivers named ``person.<name>.<index>``."""
        return list(self.contacts)

    @property
    def display(self) -> str:
        """'alice (Alice Meyer, @alice)': the name with whatever else is known."""
        extra = ", ".join(part for part in (self.full_name, self.handle) if part)
        return f"{self.name} ({extra})" if extra else self.name


def contact_receivers(people: Iterable[Person]) -> list[Receiver]:
    """Every person's contacts as receivers, for the deliverer's receiver table."""
    return [receiver for person in people for receiver in person.receivers()]
