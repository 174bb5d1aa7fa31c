"""The CPU dropout the engine installs (bertlab.modeling.fast_dropout): the same masks in
distribution as nn.Dropout, the same scaling, reproducible under a seed, and the identity in eval."""

from __future__ import annotations

import torch

from bertlab.modeling import fast_dropout


def test_masks_keep_one_minus_p_and_scale_like_nn_dropout():
    torch.manual_seed(0)
    x = torch.ones(400, 1000)
    for p in (0.1, 0.5):
        y = fast_dropout.drop(x, p)
        kept = (y != 0).float().mean().item()
        # 400,000 Bernoulli draws: a standard error of ~0.0008 at p = 0.5
        assert abs(kept - (1 - p)) < 0.004, (p, kept)
        assert torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / (1 - p)))
    # neighbouring elements are independent: no pattern from reading four draws out of one word
    mask = fast_dropout.keep_mask((200_000, 4), 0.5).float()
    assert abs(torch.corrcoef(mask.T)[0, 1:].abs().max().item()) < 0.01


def test_gradient_is_the_mask_scaled_and_seed_reproduces_it():
    torch.manual_seed(3)
    x = torch.randn(8, 16, requires_grad=True)
    y = fast_dropout.drop(x, 0.25)
    y.sum().backward()
    assert torch.equal(x.grad, (y.detach() != 0).float() / 0.75)
    torch.manual_seed(3)
    again = fast_dropout.drop(torch.randn(8, 16), 0.25)
    assert torch.equal(again != 0, y.detach() != 0)


def test_install_replaces_every_dropout_of_a_cpu_model_and_eval_is_the_identity(make_tiny_model):
    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(make_tiny_model("base"), num_labels=2)
    assert not model.training  # from_pretrained returns a model in eval mode ...
    before = sum(type(m) is torch.nn.Dropout for m in model.modules())
    assert before > 0
    assert fast_dropout.install(model) == before
    assert not any(type(m) is torch.nn.Dropout for m in model.modules())
    ids = torch.tensor([[2, 10, 11, 12, 3]])
    with torch.no_grad():  # ... and after install it still answers the same twice
        assert torch.equal(model(ids).logits, model(ids).logits)
    model.eval()
    reference = BertForSequenceClassification.from_pretrained(make_tiny_model("base"), num_labels=2).eval()
    reference.classifier.load_state_dict(model.classifier.state_dict())
    assert torch.allclose(model(ids).logits, reference(ids).logits, atol=1e-6)
    model.train()
    torch.manual_seed(1)
    a = model(ids).logits
    torch.manual_seed(2)
    assert not torch.equal(a, model(ids).logits)  # dropout is active while training


def test_training_attention_is_sdpa_math_with_padding_masks(make_tiny_model):
    """The attention function install() puts in while training computes what SDPA computes (a
    dropout so small that every element is kept, so both are deterministic), padding masks included;
    the fine-tuned model's first-token forward accepts it, and config.json does not record it."""
    from transformers import BertForSequenceClassification
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.masking_utils import sdpa_mask  # noqa: F401 (the mask builder install registers)

    from bertlab.modeling import first_token

    model = BertForSequenceClassification.from_pretrained(make_tiny_model("base"), num_labels=2)
    fast_dropout.install(model)
    assert model.config._attn_implementation == fast_dropout.ATTENTION
    assert first_token.fits(model) is None
    assert "bertlab_cpu_dropout" not in model.config.to_json_string()
    module = model.bert.encoder.layer[0].attention.self
    module.train()
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 2, 5, 16) for _ in range(3))
    padding = torch.tensor([[True] * 5, [True, True, True, False, False]])
    mask = padding[:, None, None, :].expand(2, 1, 5, 5)  # (B, 1, Tq, Tk), True = attend
    ours, _ = fast_dropout.attention(module, q, k, v, mask, dropout=1e-9, scaling=0.25)
    reference, _ = sdpa_attention_forward(module, q, k, v, mask, dropout=0.0, scaling=0.25, is_causal=False)
    assert torch.allclose(ours, reference, atol=1e-5)
    # while training, the logits of the first-token forward go through it and still learn
    ids = torch.tensor([[2, 10, 11, 12, 3], [2, 10, 3, 0, 0]])
    model.train()
    loss, _ = first_token.loss_and_logits(model, ids, torch.tensor([0, 1]), (ids != 0).long())
    loss.backward()
    assert model.bert.encoder.layer[0].attention.self.query.weight.grad.abs().sum() > 0


def test_training_attention_drops_probabilities_at_the_rate_asked():
    """With values one-hot over the keys, the attention output is the (dropped) probability matrix:
    half of its entries zero at p = 0.5, the rest twice the softmax, as SDPA's dropout does."""
    from types import SimpleNamespace

    torch.manual_seed(0)
    batch, heads, length = 4, 3, 32
    module = SimpleNamespace(training=True, is_causal=False)
    q, k = torch.randn(batch, heads, length, 8), torch.randn(batch, heads, length, 8)
    values = torch.eye(length).expand(batch, heads, length, length)  # key j -> unit vector j
    out, _ = fast_dropout.attention(module, q, k, values, None, dropout=0.5, scaling=0.5)
    probs = torch.softmax(q @ k.transpose(-1, -2) * 0.5, dim=-1).transpose(1, 2)  # (B, Tq, heads, Tk) like out
    kept = out != 0
    assert abs(kept.float().mean().item() - 0.5) < 0.02  # 12,288 draws
    assert torch.allclose(out[kept], 2 * probs[kept], atol=1e-6)
