"""Returns: the return form (items -> reason -> resolution -> summary -> confirm -> RMA)
and the status of a return already started.

    parsing   the customer's words: reason, resolution, lines and quantities, variants
    shared    the form's slots, the proof of the order, exchange choices
    form      the return form's validation
    asks      the return form's questions (action_ask_*)
    booking   booking the confirmed return (the RMA)
    status    the status of a return already started
    wording   what the customer reads: summary, new RMA, return status

The names other modules and the tests use are re-exported here."""

from actions.returns.asks import (
    ActionAskExchangeSku,
    ActionAskResolution,
    ActionAskReturnConfirmed,
    ActionAskReturnItems,
    ActionAskReturnReason,
)
from actions.returns.booking import ActionSubmitReturn, return_idempotency_key
from actions.returns.form import ValidateReturnForm
from actions.returns.parsing import (
    REASONS,
    RESOLUTION_CODES,
    pick_variant,
    reason_code,
    resolution_code,
    returnable_lines,
)
from actions.returns.shared import RETURN_SLOTS, exchange_choices
from actions.returns.status import ActionAskRmaNumber, ActionReturnStatus, ValidateReturnStatusForm
from actions.returns.wording import RESOLUTION_WORDS, describe_new_rma, describe_rma, public_url

# Return numbers are read with opsdesk_ids, as the API reads them (tests/test_ids.py checks).
from opsdesk_ids import canonical_rma_number, find_rma_number

__all__ = [
    "REASONS",
    "RESOLUTION_CODES",
    "RESOLUTION_WORDS",
    "RETURN_SLOTS",
    "ActionAskExchangeSku",
    "ActionAskResolution",
    "ActionAskReturnConfirmed",
    "ActionAskReturnItems",
    "ActionAskReturnReason",
    "ActionAskRmaNumber",
    "ActionReturnStatus",
    "ActionSubmitReturn",
    "ValidateReturnForm",
    "ValidateReturnStatusForm",
    "canonical_rma_number",
    "describe_new_rma",
    "describe_rma",
    "exchange_choices",
    "find_rma_number",
    "pick_variant",
    "public_url",
    "reason_code",
    "resolution_code",
    "return_idempotency_key",
    "returnable_lines",
]
