"""Two intent classifiers voting: each one's intent ranking is kept, then averaged.

Rasa keeps only the last intent classifier's answer. In `bot/config.yml` DIET runs, then
`KeepIntentRanking` puts its ranking aside, the logistic regression runs, and
`AverageIntentRankings` sets the intent to the average of the kept rankings and the last one
(an intent missing from a ranking counts 0 there). The FallbackClassifier after it sees the
averaged confidence. Neither component trains anything; both run inside the Rasa process
(the config names them by module path, found from the repository root Rasa runs in).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message

KEPT = "opsdesk_kept_intent_rankings"
Ranking = list[dict[str, Any]]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class KeepIntentRanking(GraphComponent):
    """Puts the intent ranking of the classifier before it aside for AverageIntentRankings."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KeepIntentRanking:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            kept = list(message.get(KEPT) or [])
            kept.append(list(message.get(INTENT_RANKING_KEY) or []))
            message.set(KEPT, kept)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class AverageIntentRankings(GraphComponent):
    """The intent and ranking become the average of the kept rankings and the current one."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"ranking_length": 10}

    def __init__(self, config: dict[str, Any]) -> None:
        self.ranking_length = int(config.get("ranking_length", 10))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AverageIntentRankings:
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            rankings: list[Ranking] = list(message.get(KEPT) or [])
            rankings.append(list(message.get(INTENT_RANKING_KEY) or []))
            ranking = average(rankings)[: self.ranking_length]
            if not ranking:
                continue
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            message.data.pop(KEPT, None)
        return messages


def average(rankings: list[Ranking]) -> Ranking:
    """Mean confidence per intent over the rankings, highest first (ties by name)."""
    used = [r for r in rankings if r]
    totals: dict[str, float] = {}
    for ranking in used:
        for entry in ranking:
            name = entry[INTENT_NAME_KEY]
            totals[name] = totals.get(name, 0.0) + float(entry[PREDICTED_CONFIDENCE_KEY])
    merged = [
        {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: total / len(used)}
        for name, total in totals.items()
    ]
    merged.sort(key=lambda e: (-e[PREDICTED_CONFIDENCE_KEY], e[INTENT_NAME_KEY]))
    return merged
