"""bertlab.modeling.first_token: the last layer for the [CLS] row only must give
BertForSequenceClassification's own logits, loss and gradients (fine-tuning and classification
use it), and leave models it does not fit to their plain forward."""

from __future__ import annotations

import pytest
import torch

from bertlab.modeling import first_token
from bertlab.modeling.registry import load_model
from bertlab.training.tasks.classification import use_first_token_forward


def _batch(tokenizer):
    # Different lengths (padding, so the attention mask matters) and a sentence pair (token types).
    texts = ["a good fun movie", "bad awful boring plot , really bad , the worst", "ok"]
    pairs = ["yes", "no it was not good at all", "fine"]
    return tokenizer(texts, pairs, padding=True, return_tensors="pt")


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_same_logits_loss_and_gradients_as_the_model(make_tiny_model, attention):
    loaded = load_model(str(make_tiny_model("classification")), head="classification", task="classify")
    model = loaded.model.eval()  # eval: no dropout, so both sides are deterministic
    model.set_attn_implementation(attention)
    assert first_token.fits(model) is None
    enc = _batch(loaded.tokenizer)
    assert (enc["attention_mask"] == 0).any() and (enc["token_type_ids"] == 1).any()
    labels = torch.tensor([1, 0, 1])

    reference = model(**enc, labels=labels)
    reference.loss.backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    loss, logits = first_token.loss_and_logits(model, enc["input_ids"], labels, enc["attention_mask"],
                                               enc["token_type_ids"])
    loss.backward()
    got = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}

    assert torch.allclose(logits, reference.logits, atol=1e-5)
    assert torch.allclose(loss, reference.loss, atol=1e-6)
    assert set(got) == set(expected)
    for name in expected:
        assert torch.allclose(got[name], expected[name], atol=1e-6), name
    # Only the first row of the last layer is computed: its other rows' weights still get gradients
    # through the keys and values (every token is attended to).
    assert got["bert.encoder.layer.1.attention.self.key.weight"].abs().sum() > 0


def test_the_fine_tuning_forward_is_the_models_own(make_tiny_model):
    loaded = load_model(str(make_tiny_model("classification")), head="classification", task="classify")
    model = loaded.model.eval()
    enc = _batch(loaded.tokenizer)
    labels = torch.tensor([0, 1, 1])
    before = model(**enc, labels=labels)
    assert use_first_token_forward(model)
    after = model(**enc, labels=labels)  # what the engine (and DistributedDataParallel) calls
    assert torch.allclose(after.logits, before.logits, atol=1e-5) and torch.allclose(after.loss, before.loss, atol=1e-6)
    assert "forward" not in model.state_dict() and set(model.state_dict()) == set(type(model)(model.config).state_dict())
    # Anything it does not handle (here inputs_embeds) goes to the plain forward.
    embeds = model.bert.embeddings.word_embeddings(enc["input_ids"])
    plain = model(inputs_embeds=embeds, attention_mask=enc["attention_mask"], token_type_ids=enc["token_type_ids"])
    assert torch.allclose(plain.logits, before.logits, atol=1e-5)


def test_models_it_does_not_fit_keep_their_forward(make_tiny_model):
    loaded = load_model(str(make_tiny_model("classification")), head="classification", task="classify")
    model = loaded.model
    model.config.problem_type = "multi_label_classification"
    assert "problem type" in first_token.fits(model)
    assert not use_first_token_forward(model)
    assert "forward" not in vars(model)
    masked_lm = load_model(str(make_tiny_model("masked-lm")), head="masked-lm").model
    assert first_token.fits(masked_lm) is not None
    model.config.problem_type = None
    model.config._attn_implementation = "flex_attention"  # its block masks are built for every query row
    assert "flex_attention" in first_token.fits(model)


def test_not_under_fsdp_or_deepspeed(make_tiny_model):
    """They gather a layer's sharded weights in hooks around that layer's own call."""
    from types import SimpleNamespace

    from accelerate.utils import DistributedType

    for kind, used in ((DistributedType.FSDP, False), (DistributedType.DEEPSPEED, False),
                       (DistributedType.MULTI_CPU, True), (DistributedType.NO, True)):
        model = load_model(str(make_tiny_model("classification")), head="classification", task="classify").model
        assert use_first_token_forward(model, SimpleNamespace(distributed_type=kind)) is used, kind
