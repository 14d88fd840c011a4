"""Order numbers, RMA numbers and SKUs as customers type them (opsdesk_ids), and proof that
the API and the assistant's actions read them with that one module: the same inputs through
the API's functions here and through the actions' functions in the Rasa environment give the
same answers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

import opsdesk_ids as ids
from api.ops.orders import service as order_service
from api.ops.orders import views as order_views
from api.ops.returns import service as return_service
from api.ops.returns import views as return_views
from api.ops.verification import service as verification

REPO = Path(__file__).resolve().parent.parent
RASA_PYTHON = REPO / ".venv-rasa" / "bin" / "python"

# ---------------------------------------------------------------- the tables
# What a customer may type for an order number, alone or in a sentence, and what it names.
# Every row reads the same as a field (the API's parser, the actions' slot validation) and
# inside a sentence (the actions' finder).
ORDER_NUMBERS: list[tuple[str, str | None]] = [
    ("10482", "10482"),
    ("#10482", "10482"),
    ("A-10482", "10482"),
    ("a-10482", "10482"),
    ("order 10 482", "10482"),
    ("no. 10482", "10482"),
    ("Order No. 10482", "10482"),
    ("order #10482", "10482"),
    (" 10 482 ", "10482"),
    ("010482", "10482"),  # leading zeros name the same order
    ("#１０４８２", "10482"),  # full-width digits
    ("١٠٤٨٢", "10482"),  # Arabic-Indic digits
    ("1 234 567", "1234567"),
    ("2147483647", "2147483647"),  # the largest the database holds
    ("2147483648", None),  # one past it
    ("99999999999", None),
    ("999999999999", None),
    ("#4294967296123", None),
    ("0000", None),
    ("²³⁴⁵⁶", None),  # look like digits, are not
    ("my jacket", None),
    ("", None),
]

# Numbers that only a field holding an order number takes: in a sentence a bare number needs
# four digits (or groups of three), as "150" there is more often a price than an order.
ORDER_NUMBER_FIELDS: list[tuple[str, str | None]] = [
    ("100", "100"),
    ("#123", "123"),
    ("99", None),  # one or two digits: a quantity, a size or a button number
    ("7", None),
    ("0", None),
    ("007", None),
]

# Order numbers inside sentences, and what is refused there: phone numbers, decimals,
# e-mail addresses, longer tokens.
ORDER_SENTENCES: list[tuple[str, str | None]] = [
    ("where is my order #10482?", "10482"),
    ("Hi, order A-10482 hasn't arrived", "10482"),
    ("my order no. 10 482 is late", "10482"),
    ("it's 10482.", "10482"),
    ("order 10003, 94110", "10003"),
    ("order number 010482 please", "10482"),
    ("I ordered 2 hoodies", None),
    ("it cost $150", None),
    ("call me on 555-123-4567", None),
    ("or 555.123.4567", None),
    ("write to 10482@example.com", None),
    ("pi is 3.14159", None),
    ("the code ab10482 on the box", None),
    ("order 2147483648", None),
    ("order 12345678901", None),
]

# RMA numbers, alone or in a sentence: the same through the field parser and the finder.
RMA_NUMBERS: list[tuple[str, str | None]] = [
    ("RMA-004512", "RMA-004512"),
    ("rma 4512", "RMA-004512"),
    ("RMA#4512", "RMA-004512"),
    ("rma4512", "RMA-004512"),
    ("RMA: 4512", "RMA-004512"),
    ("rma-000002", "RMA-000002"),
    ("RMA-1234567", "RMA-1234567"),  # past the millionth return
    ("RMA-0000004512", "RMA-004512"),
    ("RMA-2147483647", "RMA-2147483647"),
    ("what's the status of RMA-000005?", "RMA-000005"),
    ("RMA-004512 for order 10482", "RMA-004512"),
    ("rma １２", "RMA-000012"),
    ("RMA-2147483648", None),
    ("RMA-000000", None),
    ("RMA-²³", None),
    ("RMA", None),
]

# RMA numbers only a field takes: a bare number in a sentence is not taken for a return.
RMA_FIELDS: list[tuple[str, str | None]] = [
    ("4512", "RMA-004512"),
    ("000005", "RMA-000005"),
    ("", None),
    ("none", None),
]


# ------------------------------------------------------------- the module itself
@pytest.mark.parametrize(("typed", "canonical"), ORDER_NUMBERS + ORDER_NUMBER_FIELDS)
def test_an_order_number_as_typed_has_one_form(typed: str, canonical: str | None) -> None:
    assert ids.canonical_order_number(typed) == canonical
    assert ids.parse_order_number(typed) == (int(canonical) if canonical else None)
    if canonical:  # the canonical form reads as itself
        assert ids.canonical_order_number(canonical) == canonical


@pytest.mark.parametrize(("typed", "canonical"), ORDER_NUMBERS + ORDER_SENTENCES)
def test_an_order_number_is_found_in_a_sentence(typed: str, canonical: str | None) -> None:
    assert ids.find_order_number(typed) == canonical


@pytest.mark.parametrize(("typed", "canonical"), RMA_NUMBERS + RMA_FIELDS)
def test_an_rma_number_as_typed_has_one_canonical_form(typed: str, canonical: str | None) -> None:
    assert ids.canonical_rma_number(typed) == canonical
    if canonical:
        assert ids.canonical_rma_number(canonical) == canonical


@pytest.mark.parametrize(("typed", "canonical"), RMA_NUMBERS)
def test_an_rma_number_is_found_in_a_sentence(typed: str, canonical: str | None) -> None:
    assert ids.find_rma_number(typed) == canonical


def test_a_bare_number_in_a_sentence_is_not_a_return() -> None:
    assert ids.find_rma_number("my order 10482") is None
    assert ids.find_rma_number("4512") is None


def test_none_and_non_text_values_name_nothing() -> None:
    for read in (ids.canonical_order_number, ids.parse_order_number, ids.canonical_rma_number):
        assert read(None) is None
        assert read(True) is None
    assert ids.find_order_number(None) is None and ids.find_rma_number(None) is None
    assert ids.canonical_order_number(10482) == "10482"


def test_a_very_long_number_is_refused_without_converting_it() -> None:
    # int() refuses more than 4300 digits; the length is checked first.
    assert ids.canonical_order_number("1" * 5000) is None
    assert ids.canonical_rma_number("RMA-" + "1" * 5000) is None
    assert ids.canonical_order_number("0" * 5000 + "10482") == "10482"


def test_rma_numbers_are_the_row_id_padded_to_six_digits() -> None:
    assert ids.format_rma_number(1) == "RMA-000001"
    assert ids.format_rma_number(4512) == "RMA-004512"
    assert ids.format_rma_number(ids.MAX_ROW_ID) == "RMA-2147483647"
    # it fits the rma_number column (String(16))
    assert len(ids.format_rma_number(ids.MAX_ROW_ID)) <= 16


@pytest.mark.parametrize(
    ("text", "row_id"),
    [
        ("1", 1),
        ("42", 42),
        ("2147483647", 2147483647),
        ("2147483648", None),
        ("9223372036854775808", None),
        ("0", None),
        ("", None),
        ("²", None),
        ("１２", None),  # a form's or a path's id is ASCII
        ("-1", None),
        (" 7", None),
    ],
)
def test_a_row_id_is_ascii_digits_within_the_column(text: str, row_id: int | None) -> None:
    assert ids.parse_row_id(text) == row_id


def test_every_catalog_sku_is_canonical_and_found_in_a_message() -> None:
    catalog = yaml.safe_load((REPO / "data" / "store" / "catalog.yml").read_text())
    skus = [
        ids.make_sku(item["style"], colour, str(size))
        for item in catalog["products"]
        for colour in item["colours"]
        for size in item["sizes"]
    ]
    assert skus and len(set(skus)) == len(skus)
    for sku in skus:
        assert sku == ids.canonical_sku(sku) and len(sku) <= ids.SKU_MAX_LENGTH
        assert ids.find_skus(f"is the {sku.lower()} in stock?") == [sku]
        assert ids.style_of(sku) == sku.split("-")[0]
    assert ids.make_sku("TEE", "Navy Blue", "m") == "TEE-NAVYBLUE-M"
    assert ids.canonical_sku(" tee-navy-m ") == "TEE-NAVY-M"
    assert ids.style_of(" tee ") == "TEE"
    assert ids.find_skus("TEE-NAVY-M or tee-navy-m, then PUF-OLIVE-M") == [
        "TEE-NAVY-M",
        "PUF-OLIVE-M",
    ]


# ------------------------------------------------------------- both sides use it
def test_the_api_reads_numbers_with_the_one_module() -> None:
    # The functions the API's routes and services call are the module's, not copies.
    assert order_views.parse_order_number is ids.parse_order_number
    assert order_service.parse_order_number is ids.parse_order_number
    assert verification.parse_order_number is ids.parse_order_number
    assert return_views.canonical_rma_number is ids.canonical_rma_number
    assert return_service.canonical_rma_number is ids.canonical_rma_number


def test_failed_proofs_of_one_order_count_together_however_it_is_written() -> None:
    keys = {verification.order_key(typed) for typed in ("10482", "#10482", "010482", "10 482")}
    assert keys == {"10482"}
    assert verification.order_key("abc") == verification.order_key(None) == "none"
    assert verification.order_key("99999999999") == "99999999999"


def _in_the_actions_environment(inputs: list[str]) -> dict[str, list[str | None]]:
    """The actions' own functions (as actions/verification.py and actions/returns.py import
    them) run in the Rasa environment on `inputs`."""
    program = """
import json, sys
import opsdesk_ids
from actions import returns, verification
inputs = json.load(sys.stdin)
json.dump({
    "module": opsdesk_ids.__file__,
    "same": [
        verification.find_order_number is opsdesk_ids.find_order_number,
        verification.canonical_order_number is opsdesk_ids.canonical_order_number,
        returns.find_rma_number is opsdesk_ids.find_rma_number,
        returns.canonical_rma_number is opsdesk_ids.canonical_rma_number,
    ],
    "find_order_number": [verification.find_order_number(t) for t in inputs],
    "canonical_order_number": [verification.canonical_order_number(t) for t in inputs],
    "find_rma_number": [returns.find_rma_number(t) for t in inputs],
    "canonical_rma_number": [returns.canonical_rma_number(t) for t in inputs],
}, sys.stdout)
"""
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", program],
        input=json.dumps(inputs),
        cwd=REPO,  # as the action server runs: the repository root on the path
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_api_and_the_actions_accept_and_reject_the_same_numbers() -> None:
    if not RASA_PYTHON.exists():
        pytest.skip("the Rasa environment (.venv-rasa) is not set up")
    orders = ORDER_NUMBERS + ORDER_NUMBER_FIELDS + ORDER_SENTENCES
    rmas = RMA_NUMBERS + RMA_FIELDS
    inputs = [typed for typed, _ in orders + rmas]
    actions = _in_the_actions_environment(inputs)
    assert Path(str(actions["module"])).resolve() == Path(ids.__file__).resolve()
    assert actions["same"] == [True] * 4
    by_input = {
        name: dict(zip(inputs, results, strict=True))
        for name, results in actions.items()
        if isinstance(results, list) and name != "same"
    }
    for typed, _ in ORDER_NUMBERS:
        # What the customer typed, sent to the API as it is, names the order the assistant
        # found in the same text.
        api = order_views.parse_order_number(typed)
        found = by_input["find_order_number"][typed]
        assert (str(api) if api is not None else None) == found, typed
    for typed, _ in ORDER_NUMBERS + ORDER_NUMBER_FIELDS:
        api = order_views.parse_order_number(typed)
        slot = by_input["canonical_order_number"][typed]
        assert (str(api) if api is not None else None) == slot, typed
    for typed, _ in ORDER_SENTENCES:
        # What the assistant finds in a sentence, the API reads as the same order.
        found = by_input["find_order_number"][typed]
        assert found is None or order_views.parse_order_number(found) == int(found), typed
    for typed, _ in RMA_NUMBERS:
        api = return_views.canonical_rma_number(typed)
        assert api == by_input["find_rma_number"][typed], typed
    for typed, _ in RMA_NUMBERS + RMA_FIELDS:
        api = return_views.canonical_rma_number(typed)
        assert api == by_input["canonical_rma_number"][typed], typed


def test_no_copy_of_the_rules_is_left_in_the_api_or_the_actions() -> None:
    copies = [
        'f"RMA-{',  # an RMA number formatted by hand
        r"RMA[\s",  # the pattern of an RMA number in text
        r"(?: \d{3})+",  # the pattern of an order number in text
        "2**31",  # the row-id bound
        "[A-Z]{2,4}-",  # the pattern of a SKU in text
        "[0-9]+",  # digits read as ASCII only
    ]
    found = []
    for path in [*(REPO / "api").rglob("*.py"), *(REPO / "actions").rglob("*.py")]:
        if "migrations" in path.parts:
            continue
        text = path.read_text()
        found += [f"{path.relative_to(REPO)}: {copy}" for copy in copies if copy in text]
    assert found == []
