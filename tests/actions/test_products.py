"""Product questions (knowledge base) and stock checks against the real API."""

from __future__ import annotations

import pytest
from action_testing import make_tracker, run_action, slot_events, texts

from actions.products import ActionAnswerProductQuestion, ActionCheckStock

pytestmark = pytest.mark.asyncio


async def test_confident_answer_is_given_from_the_knowledge_base():
    tracker = make_tracker(
        text="what is the linen shirt made of?",
        intent="product_faq",
        entities={"product": "linen shirt"},
    )
    dispatcher, events = await run_action(ActionAnswerProductQuestion(), tracker)
    assert "European flax linen" in texts(dispatcher)
    slots = slot_events(events)
    assert slots["product"] == "Linen Button-Down Shirt"
    assert "handoff_offered" not in slots


async def test_unsure_answer_says_so_and_offers_a_person():
    tracker = make_tracker(text="do you sell bicycles", intent="product_faq")
    dispatcher, events = await run_action(ActionAnswerProductQuestion(), tracker)
    assert "not sure" in texts(dispatcher) or "don't have a good answer" in texts(dispatcher)
    slots = slot_events(events)
    assert slots["handoff_offered"] is True and slots["handoff_reason"] == "unanswered_question"


async def test_stock_for_one_size_and_colour():
    tracker = make_tracker(
        text="do you have the organic tee in navy, medium?",
        intent="stock_availability",
        entities={"product": "organic tee", "colour": "navy", "size": "M"},
    )
    dispatcher, _ = await run_action(ActionCheckStock(), tracker)
    assert "Everyday Organic Tee in navy, M is in stock" in texts(dispatcher)


async def test_out_of_stock_variant_gives_the_restock_date():
    tracker = make_tracker(
        text="is the puffer in olive M available",
        intent="stock_availability",
        entities={"product": "puffer", "colour": "olive", "size": "medium"},
    )
    dispatcher, _ = await run_action(ActionCheckStock(), tracker)
    text = texts(dispatcher)
    assert "Recycled Puffer Jacket in olive, M is out of stock" in text
    assert "expected around" in text


async def test_a_size_the_product_does_not_come_in_lists_its_sizes():
    tracker = make_tracker(
        text="the organic tee in XXL?",
        intent="stock_availability",
        entities={"product": "organic tee", "size": "XXL"},
    )
    dispatcher, _ = await run_action(ActionCheckStock(), tracker)
    assert "comes in XS, S, M, L and XL" in texts(dispatcher)


async def test_follow_up_size_keeps_the_product_from_before():
    tracker = make_tracker(
        text="and in L?",
        intent="inform",
        entities={"size": "L"},
        slots={"product": "Everyday Organic Tee", "colour": "navy"},
    )
    dispatcher, _ = await run_action(ActionCheckStock(), tracker)
    assert "Everyday Organic Tee in navy, L" in texts(dispatcher)


async def test_stock_question_without_a_product_asks_which_one():
    tracker = make_tracker(text="is it in stock?", intent="stock_availability")
    dispatcher, events = await run_action(ActionCheckStock(), tracker)
    assert "Which item" in texts(dispatcher)
