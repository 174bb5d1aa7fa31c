"""The Chinese defaults: default-chinese (a masked-LM with its own character vocabulary) and
default-sentiment-chinese, routing by language when no model is chosen, and the hint a user gets
when an English model is given Chinese text."""

from __future__ import annotations

import json

import pytest

from bertlab.modeling import registry as models
from bertlab.service import Service

ASSETS = models.ASSETS


@pytest.fixture(scope="module")
def service():
    return Service()


def test_default_chinese_is_a_masked_lm_with_a_chinese_vocabulary():
    info = models.describe("default-chinese")
    assert info.heads == ["masked-lm"]
    assert info.vocab_size == 25698 and info.num_layers == 6 and info.hidden_size == 384
    listed = {row["name"]: row for row in models.list_models()}
    assert listed["default-chinese"]["heads"] == ["masked-lm"]
    assert listed["default-sentiment-chinese"]["heads"] == ["classification"]
    assert "default-chinese" in models.list_models.__globals__["TASK_DEFAULTS"].values()
    # The tokenize view and the model read text through one vocabulary.
    tokenizer = models.load_tokenizer("default-chinese", "tokenize")
    assert tokenizer.tokenize("我爱北京天安门") == list("我爱北京天安门")
    assert (ASSETS / "default-chinese" / "vocab.txt").exists()


def test_default_chinese_answers_chinese_cloze_offline(service):
    """A regression guard on sentences the shipped model gets in its top 5 (the overall figures are
    in benchmarks/chinese_default.py and the README)."""
    cases = {"中国的首都是北[MASK]。": {"京"},
             "这家酒店的服务态[MASK]很好。": {"度"},
             "我们应该保护环[MASK]。": {"境"},
             "他把钱存进了银[MASK]。": {"行"}}
    for text, answers in cases.items():
        result = service.fill_mask(text, top_k=5)  # no model: routed by language
        assert result["model"] == "default-chinese"
        chars = {c["token"] for c in result["masks"][0]["candidates"]}
        assert chars & answers, (text, chars)


def test_no_model_means_the_default_for_the_language(service):
    english = service.fill_mask("The capital of France is [MASK].", top_k=3)
    assert english["model"] == "default"
    assert service.fill_mask("我爱[MASK]京天安门。", model="auto", top_k=3)["model"] == "default-chinese"
    assert service.classify("A warm and funny film.")["model"] == "default-sentiment"
    assert service.classify("房间很干净，服务也很周到。")["model"] == "default-sentiment-chinese"
    assert models.mostly_chinese("北京是中国的[MASK]都。")
    assert not models.mostly_chinese("The word 北京 means Beijing.")


def test_an_english_model_on_chinese_text_gets_a_hint_naming_the_chinese_model(service):
    result = service.fill_mask("北京是中国的首[MASK]。", model="default", top_k=3)
    assert result["model"] == "default"
    assert any("default-chinese" in n and "not a Chinese model" in n for n in result["notices"])
    plain = service.fill_mask("北京是中国的首[MASK]。", model="default-chinese", top_k=3)
    assert not any("not a Chinese model" in n for n in plain.get("notices", []))
    classified = service.classify("质量太差了，不推荐。", model="default-sentiment")
    assert any("default-sentiment-chinese" in n for n in classified["notices"])


def test_cli_fill_mask_json_names_the_model_that_answered(capsys):
    from bertlab.cli import main

    assert main(["fill-mask", "北京是中国的首[MASK]。", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "default-chinese"
    assert main(["fill-mask", "The capital of France is [MASK].", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "default"


def test_default_sentiment_chinese_reads_short_everyday_reviews(service):
    """The page's Chinese examples are answered right, and so are most of 64 one-line reviews
    written by hand across eight domains (benchmarks/reviews_zh.py; labels fixed before any model
    was run). The training reviews are long and cover only hotels, laptops and books: this is the
    check that a user's short sentence about anything gets a sensible answer."""
    from benchmarks.reviews_zh import REVIEWS_ZH
    from bertlab.ui.classify_tab import EXAMPLES

    page_examples = {"房间很干净，服务也很周到，下次还会再来。": "positive",
                     "质量太差了，用了两天就坏了，不推荐购买。": "negative"}
    assert set(page_examples) <= {text for text, _ in EXAMPLES}
    for text, expected in page_examples.items():
        result = service.classify(text)
        assert result["model"] == "default-sentiment-chinese" and result["label"] == expected, (text, result)
    misses = [(text, label) for _, text, label in REVIEWS_ZH if service.classify(text)["label"] != label]
    assert len(misses) <= 7, misses  # the shipped versions so far: 6, 5, 5 and 4 misses
    meta = json.loads((ASSETS / "default-sentiment-chinese" / "overlay.json").read_text())
    assert meta["base_default"] == "default-chinese" and meta["results"]["eval_accuracy"] > 0.85
    assert (ASSETS / "default-sentiment-chinese" / "overlay.safetensors").stat().st_size < 15 * 1024 * 1024


def test_fine_tuning_from_default_chinese_starts_from_its_encoder():
    """The overlay's encoder applies to every head: a classifier built from default-chinese has
    exactly the masked-LM's body and vocabulary (only the new classification layer is fresh)."""
    import torch

    mlm = models.load_model("default-chinese", head="masked-lm").model
    classifier = models.load_model("default-chinese", head="classification", task="finetune",
                                   allow_new_head=True, num_labels=3).model
    mine, theirs = mlm.state_dict(), classifier.state_dict()
    for name in ("bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.attention.self.query.weight",
                 "bert.encoder.layer.5.output.dense.weight"):
        assert torch.equal(mine[name], theirs[name]), name
    assert classifier.config.vocab_size == 25698 and classifier.config.num_labels == 3


def test_shipped_defaults_work_with_plain_transformers_pipelines():
    """A shipped default's config carries integer label ids, as a saved run's does, so handing
    the loaded model to transformers' own pipeline works."""
    from transformers import pipeline

    for name, text in (("default-sentiment", "A warm and funny film."),
                       ("default-sentiment-chinese", "房间很干净，服务也很周到。")):
        loaded = models.load_model(name, head="classification", task="classify")
        assert all(isinstance(k, int) for k in loaded.model.config.id2label)
        answer = pipeline("text-classification", model=loaded.model, tokenizer=loaded.tokenizer)(text)[0]
        assert answer["label"] in ("negative", "positive")
