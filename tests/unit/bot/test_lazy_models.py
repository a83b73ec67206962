"""The NLP models are loaded once, in the background, however many turns ask for them at the same moment."""

from __future__ import annotations

import threading
from datetime import datetime

from bot.analysis import BackgroundLoadedAnalyzer, TextAnalyzer, ThreadedAnalyzer
from nlp import Analysis, Lang, ProductChoice


class CountingAnalyzer:
    catalog = None

    def analyze(self, text: str, lang: Lang | None = None, *, now: datetime | None = None) -> Analysis:
        return Analysis.nothing(lang or "en")

    def top_products(self, n: int, lang: Lang) -> tuple[ProductChoice, ...]:
        return (ProductChoice("kettle", "Kettle"),)[:n]


def test_models_load_once_for_the_loader_thread_and_every_caller() -> None:
    loads: list[int] = []
    release = threading.Event()

    def load() -> TextAnalyzer:
        release.wait(5)
        loads.append(1)
        return CountingAnalyzer()

    analyzer = BackgroundLoadedAnalyzer(load)
    threaded = ThreadedAnalyzer(analyzer)
    assert not threaded.models_loaded()  # /readyz says "models loading" until here
    analyzer.start_loading()
    answers: list[object] = []
    callers = [threading.Thread(target=lambda: answers.append(analyzer.analyze("my kettle", "en")))
               for _ in range(4)]
    for caller in callers:
        caller.start()
    release.set()
    for caller in callers:
        caller.join(5)
    assert len(answers) == 4 and loads == [1]
    assert threaded.models_loaded()
    assert ThreadedAnalyzer(CountingAnalyzer()).models_loaded()  # models given loaded
    assert analyzer.top_products(1, "en") == (ProductChoice("kettle", "Kettle"),)
    assert loads == [1]


def test_a_failed_load_is_tried_again_by_the_next_caller() -> None:
    attempts: list[int] = []

    def load() -> TextAnalyzer:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("catalog.yaml: unreadable")
        return CountingAnalyzer()

    analyzer = BackgroundLoadedAnalyzer(load)
    try:
        analyzer.analyze("x", "en")
    except OSError as error:
        assert "catalog.yaml" in str(error)
    else:
        raise AssertionError("the first load should have failed")
    assert analyzer.analyze("x", "en") == Analysis.nothing("en")
    assert len(attempts) == 2


def test_nothing_loads_until_asked_and_the_readiness_check_starts_the_load_once() -> None:
    from bot.composition import _loading_models

    started = threading.Event()
    release = threading.Event()
    loads: list[int] = []

    def load() -> TextAnalyzer:
        loads.append(1)
        started.set()
        release.wait(5)
        return CountingAnalyzer()

    analyzer = BackgroundLoadedAnalyzer(load)
    threaded = ThreadedAnalyzer(analyzer)
    models_ready = _loading_models(threaded)
    assert loads == []  # built, not loading: start-up is not slowed down by the imports
    assert not models_ready()  # /readyz: "models loading", and the load has begun in the background
    assert started.wait(5)
    threaded.start_loading()
    assert not models_ready()
    release.set()
    assert analyzer.analyze("my kettle", "en") == Analysis.nothing("en")
    assert models_ready() and loads == [1]
