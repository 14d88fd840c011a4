"""Product questions (knowledge base) and stock checks against the real API."""

from __future__ import annotations

import pytest
from action_testing import make_tracker, run_action, slot_events, texts

from actions.products import ActionAnswerProductQuestion, ActionCheckStock, ActionOutOfScope

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


async def test_a_misspelt_product_colour_and_size_are_read_from_the_message():
    # The NLU picked out nothing; the catalog reads the message as the customer wrote it.
    tracker = make_tracker(
        text="do u have the merino crewnek in navvy medum", intent="stock_availability"
    )
    dispatcher, events = await run_action(ActionCheckStock(), tracker)
    assert "Merino Crew Sweater in navy, M" in texts(dispatcher)
    slots = slot_events(events)
    assert slots["product"] == "Merino Crew Sweater"
    assert slots["size"] == "M" and slots["colour"] == "navy"


async def test_a_question_about_the_return_rules_is_answered_and_a_return_offered():
    tracker = make_tracker(text="how long have i got to send things back?", intent="product_faq")
    dispatcher, _ = await run_action(ActionAnswerProductQuestion(), tracker)
    [message] = dispatcher.messages
    assert "days" in message["text"] and "start a return" in message["text"].lower()
    assert message["buttons"] == [{"title": "Start a return", "payload": "/initiate_return"}]


async def test_a_did_you_mean_button_answers_the_question_it_stood_for():
    tracker = make_tracker(
        text="/product_faq",
        intent="product_faq",
        earlier_text="wat is the linen shirt made of",
    )
    dispatcher, _ = await run_action(ActionAnswerProductQuestion(), tracker)
    assert "European flax linen" in texts(dispatcher)


@pytest.mark.parametrize(
    "question",
    ["how do i reset my password", "i cant log into my account", "change the email on my account"],
)
async def test_an_account_question_out_of_scope_is_answered_from_its_article(question):
    tracker = make_tracker(text=question, intent="out_of_scope")
    dispatcher, events = await run_action(ActionOutOfScope(), tracker)
    assert "guest orders can be tracked" in texts(dispatcher)
    assert not any(m.get("response") for m in dispatcher.messages)
    assert events == []


@pytest.mark.parametrize(
    "question",
    [
        "what's the weather in Paris tomorrow",
        "tell me a joke",
        "thats not it",
        "can you help with my homework",
        "is there a student discount",
    ],
)
async def test_a_question_no_article_answers_gets_the_plain_out_of_scope_reply(question):
    tracker = make_tracker(text=question, intent="out_of_scope")
    dispatcher, _ = await run_action(ActionOutOfScope(), tracker)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_out_of_scope"]
