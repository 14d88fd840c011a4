"""The action server starts: rasa_sdk registers every concrete Action of the package (a base
class without a name stops the server at start), and every custom action the domain names
is served."""

from __future__ import annotations

from action_testing import load_domain
from rasa_sdk.executor import ActionExecutor


def test_the_action_server_registers_every_action_the_domain_names() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")  # raises when a registered class has no name
    served = set(executor.actions)
    domain = load_domain()
    custom = {name for name in domain.get("actions", []) if not name.startswith("utter_")}
    assert custom - served == set()
    assert "action_session_start" in served and "validate_order_verification_form" in served
