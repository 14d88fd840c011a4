"""`rasa` for OpsDesk's Rasa servers: Rasa's own command line, with two checks Rasa repeats
on every use done once instead.

1. The action server's answers are checked against a validator built once instead of once
   per answer.

Rasa 3.6 checks every answer of the action server with `jsonschema.validate()`, which first
checks the schema itself against the JSON Schema meta-schema and then builds a new
validator: 11 ms of CPU per custom action on this 2-core machine when it is quiet (40 ms
under load), against 1 ms for the same check on a kept validator, paid twice in the turn
that verifies a customer and answers. The schema is a constant of Rasa's, so it is checked
once here and its validator kept; every answer is still validated, and an invalid one fails
with Rasa's own error and message.

2. Rasa turns each stored event back into its class by name (`Event.resolve_by_type`) by
   walking every subclass of `Event` and asking `inspect.isabstract` of each, for every
   event of every tracker it reads: 10% of a Rasa server's CPU serving turns (py-spy, one
   server under load). A name always names the same class, so each is looked up once and
   kept; a name Rasa does not know still goes to Rasa's own lookup (and its error) each time.

api/launch.py starts the Rasa servers as `.venv-rasa/bin/python bot/rasa_server.py run ...`;
any `rasa` command line works the same way.
"""

from __future__ import annotations

from typing import Any


def install_response_check() -> None:
    """Replace RemoteAction._validate_action_result with the same check on a kept validator."""
    from jsonschema import exceptions, validators
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)  # what validate() did on every call
    validator = validator_class(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        error = exceptions.best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result


def install_event_type_cache() -> None:
    """Replace Event.resolve_by_type with Rasa's lookup behind a cache of the names found."""
    from rasa.shared.core.events import Event

    lookup = Event.resolve_by_type
    found: dict[str, type[Event]] = {}

    def resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
        cls = found.get(type_name)
        if cls is None:
            cls = lookup(type_name, default)  # Rasa's own: its default, "topic", its error
            if cls is not None and cls.type_name == type_name:
                found[type_name] = cls
        return cls

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]


def main() -> None:
    # Rasa falls back to an in-memory tracker store, with only a warning, when the store the
    # endpoints file names cannot be imported: with several servers that would lose turns.
    # Imported here first, so such a server fails at start instead.
    import bot.tracker_store  # noqa: F401

    install_response_check()
    install_event_type_cache()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
