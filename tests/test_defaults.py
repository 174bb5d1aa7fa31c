"""The shipped offline defaults: small files laid over the embedded encoder, loaded with no network."""

from __future__ import annotations

import json

from bertlab.modeling import registry as models
from bertlab.service import Service

ASSETS = models.ASSETS
LIMIT = 15 * 1024 * 1024
# default-chinese brings a whole new vocabulary (25.7k embedding rows) besides its retrained body.
LIMITS = {"default-chinese": 25 * 1024 * 1024}


def test_shipped_defaults_stay_under_the_size_limit():
    for folder in ASSETS.iterdir():
        if folder.is_dir():
            size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
            assert size <= LIMITS.get(folder.name, LIMIT), (folder.name, size)


def test_default_sentiment_classifies_obvious_sentences_offline():
    assert (ASSETS / "default-sentiment" / "overlay.safetensors").exists()
    service = Service()
    cases = {"A warm, funny and beautifully acted film.": "positive",
             "I loved every minute of it.": "positive",
             "The plot makes no sense and the jokes fall flat.": "negative",
             "A boring, badly written mess.": "negative"}
    for text, expected in cases.items():
        result = service.classify(text)  # no model given: the classify default
        assert result["model"] == "default-sentiment"
        assert result["label"] == expected, (text, result)
    info = models.describe("default-sentiment", "classify")
    assert info.labels == ["negative", "positive"] and "SST-2" in info.metrics_note
    assert "default-sentiment" in service.model_choices("classify")


def test_overlay_changes_only_the_top_layers_and_heads():
    from safetensors import safe_open

    with safe_open(str(ASSETS / "default-sentiment" / "overlay.safetensors"), framework="pt") as handle:
        names = list(handle.keys())
    assert not any("embeddings" in n for n in names)
    assert {n.split(".")[3] for n in names if ".layer." in n} == {"4", "5"}
    meta = json.loads((ASSETS / "default-sentiment" / "overlay.json").read_text())
    assert meta["head"] == "classification" and meta["results"]["eval_accuracy"] > 0.84


def test_default_masked_lm_answers_everyday_sentences_offline():
    """The shipped masked-LM head on the default encoder (bertlab/assets/default-mlm). Its overall
    cloze figures are in benchmarks/cloze.py and the README; these are sentences it must get in
    its top 5 (a regression guard, not the quality target)."""
    assert (ASSETS / "default-mlm" / "overlay.safetensors").exists()
    service = Service()
    cases = {"The capital of France is [MASK].": {"paris"},
             "He opened the [MASK] and walked into the room.": {"door"},
             "He was born in London and grew up in [MASK].": {"london", "england"},
             "The shop is closed on [MASK].": {"monday", "tuesday", "wednesday", "thursday", "friday",
                                               "saturday", "sunday"},
             "The river flows into the [MASK].": {"sea", "ocean", "lake"}}
    for text, answers in cases.items():
        result = service.fill_mask(text, top_k=5)  # no model given: the fill-mask default
        words = {c["token"] for c in result["masks"][0]["candidates"]}
        assert words & answers, (text, words)
    meta = json.loads((ASSETS / "default-mlm" / "overlay.json").read_text())
    assert meta["head"] == "masked-lm"
    # Every encoder layer was retrained: shipped as int8 differences, plus the [MASK] row alone.
    assert meta["quantized_tensors"] >= 36 and meta["bytes"] < 12 * 1024 * 1024
    assert models.heads_present(models.resolve("default")) == ["masked-lm"]


def test_models_loaded_at_once_from_several_threads_are_whole():
    """The page loads models from several threads (the server's warm-up, a page's first answers).
    transformers builds a model on the meta device first, through patches that are global to the
    process: two models built at the same moment once left one with meta tensors ("Tensor on device
    meta is not on the expected device cpu!"), cached for the server's life."""
    import threading

    from bertlab.service import Service

    service, errors = Service(), []

    def load(name, head, task):
        try:
            loaded = service.model(name, head, task)
            bad = [n for n, p in loaded.model.named_parameters() if p.device.type == "meta"]
            assert not bad, f"{name}: meta tensors {bad[:3]}"
        except Exception as exc:
            errors.append(f"{name}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=load, args=spec) for spec in
               [("default", "masked-lm", "fill-mask"), ("default-sentiment", "classification", "classify"),
                ("default-chinese", "masked-lm", "fill-mask")]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    answer = service.fill_mask("The capital of France is [MASK].")
    assert answer["masks"][0]["candidates"][0]["score"] > 0
    assert service.classify("A warm, funny and beautifully acted film.")["label"] == "positive"
