"""The CPU dropout the engine installs (bertlab.modeling.fast_dropout): the same masks in
distribution as nn.Dropout, the same scaling, reproducible under a seed, and the identity in eval."""

from __future__ import annotations

import torch

from bertlab.modeling import fast_dropout


def test_masks_keep_one_minus_p_and_scale_like_nn_dropout():
    torch.manual_seed(0)
    x = torch.ones(400, 1000)
    for p in (0.1, 0.5):
        y = fast_dropout.dropout(x, p)
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
    y = fast_dropout.dropout(x, 0.25)
    y.sum().backward()
    assert torch.equal(x.grad, (y.detach() != 0).float() / 0.75)
    torch.manual_seed(3)
    again = fast_dropout.dropout(torch.randn(8, 16), 0.25)
    assert torch.equal(again != 0, y.detach() != 0)


def test_install_replaces_every_dropout_of_a_cpu_model_and_eval_is_the_identity(make_tiny_model):
    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(make_tiny_model("base"), num_labels=2)
    before = sum(type(m) is torch.nn.Dropout for m in model.modules())
    assert before > 0
    assert fast_dropout.install(model) == before
    assert not any(type(m) is torch.nn.Dropout for m in model.modules())
    ids = torch.tensor([[2, 10, 11, 12, 3]])
    model.eval()
    reference = BertForSequenceClassification.from_pretrained(make_tiny_model("base"), num_labels=2).eval()
    reference.classifier.load_state_dict(model.classifier.state_dict())
    assert torch.allclose(model(ids).logits, reference(ids).logits, atol=1e-6)
    model.train()
    torch.manual_seed(1)
    a = model(ids).logits
    torch.manual_seed(2)
    assert not torch.equal(a, model(ids).logits)  # dropout is active while training
