"""Shipping a retrained default as a small overlay: what is stored, and that laying it over the
wheel gives back the model that was trained."""

from __future__ import annotations

import json

import torch
from safetensors import safe_open

from bertlab.modeling.registry import wheel_model_dir
from bertlab.modeling.overlay import lay_over
from bertlab.modeling.overlay_export import export_overlay


def test_overlay_stores_int8_changes_and_single_rows_and_gives_the_model_back(tmp_path):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    torch.manual_seed(0)
    tuned = AutoModelForMaskedLM.from_pretrained(str(wheel_model_dir())).eval()
    mask_id = AutoTokenizer.from_pretrained(str(wheel_model_dir())).mask_token_id
    query = tuned.bert.encoder.layer[5].attention.self.query.weight
    with torch.no_grad():
        query += 1e-3 * torch.randn_like(query)  # a retrained layer: small changes everywhere
        tuned.bert.embeddings.word_embeddings.weight[mask_id] += 0.5  # one trained row
    tuned.save_pretrained(tmp_path / "final")

    meta = export_overlay(tmp_path / "final", tmp_path / "shipped", "masked-lm")
    with safe_open(str(tmp_path / "shipped" / "overlay.safetensors"), framework="pt") as handle:
        stored = {k: handle.get_tensor(k) for k in handle.keys()}
    name = "bert.encoder.layer.5.attention.self.query.weight"
    assert stored[name + "#q8"].dtype == torch.int8 and name not in stored
    rows = "bert.embeddings.word_embeddings.weight#rows"
    assert stored[rows].tolist() == [mask_id]  # one row of 30k shipped, not the matrix
    assert not any(".layer.4." in k for k in stored)  # untouched layers are not shipped
    # The decoder shares the embedding matrix: not stored a second time.
    assert not any(k.startswith("cls.predictions.decoder.weight") for k in stored)
    assert meta["bytes"] < 1_000_000 and meta["max_abs_error"] < 1e-3  # fp16 of the new head
    assert json.loads((tmp_path / "shipped" / "overlay.json").read_text())["quantized_tensors"] == 2

    rebuilt = AutoModelForMaskedLM.from_pretrained(str(wheel_model_dir())).eval()
    lay_over(rebuilt, tmp_path / "shipped" / "overlay.safetensors")
    # int8 of the change: within half a step of its row's scale (changes here are up to ~4e-3).
    rebuilt_query = rebuilt.bert.encoder.layer[5].attention.self.query.weight
    assert (rebuilt_query - query).abs().max() < 2e-5
    assert torch.equal(rebuilt.cls.predictions.decoder.weight, rebuilt.bert.embeddings.word_embeddings.weight)
    ids = torch.tensor([[101, 1996, 3007, 1997, 2605, 2003, mask_id, 1012, 102]])
    with torch.no_grad():
        want, got = tuned(input_ids=ids).logits, rebuilt(input_ids=ids).logits
    assert (want - got).abs().max() < 2e-2
    assert torch.equal(want[0, 6].topk(5).indices, got[0, 6].topk(5).indices)


def test_a_new_vocabulary_ships_as_int8_values_and_other_heads_take_only_the_body():
    """A matrix the base has no counterpart for (a new vocabulary's embeddings) is stored as int8
    values with a scale per row; laying the overlay over a model with another head takes the
    encoder's tensors and leaves the overlay's own head out."""
    from bertlab.modeling.overlay import decode_changes, encode_changes

    torch.manual_seed(0)
    new_rows = torch.randn(3000, 64)  # e.g. embeddings for a new 3,000-token vocabulary
    base = {"bert.encoder.w": torch.randn(300, 300)}
    tuned = {"bert.embeddings.word_embeddings.weight": new_rows,
             "bert.encoder.w": base["bert.encoder.w"] + 1e-3 * torch.randn(300, 300),
             "cls.predictions.bias": torch.randn(3000)}
    stored = encode_changes(tuned, base, frozenset({"bert.embeddings.word_embeddings.weight"}))
    assert stored["bert.embeddings.word_embeddings.weight#i8"].dtype == torch.int8
    assert "bert.encoder.w#q8" in stored and "cls.predictions.bias" in stored
    decoded = decode_changes(stored, base)
    # int8 of the values: within half a step of each row's largest entry / 127.
    step = new_rows.abs().amax(dim=1, keepdim=True) / 127
    assert ((decoded["bert.embeddings.word_embeddings.weight"] - new_rows).abs() <= step / 2 + 1e-6).all()

    class Body(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = torch.nn.Module()
            self.bert.encoder = torch.nn.Module()
            self.bert.encoder.w = torch.nn.Parameter(base["bert.encoder.w"].clone())
            self.bert.embeddings = torch.nn.Module()
            self.bert.embeddings.word_embeddings = torch.nn.Embedding(3000, 64)
            self.classifier = torch.nn.Linear(64, 2)

    import tempfile

    from safetensors.torch import save_file

    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/overlay.safetensors"
        save_file(stored, path)
        model = Body()
        head_before = model.classifier.weight.detach().clone()
        lay_over(model, path, body_only=True)  # the MLM bias is not this model's: left out, no error
        assert torch.allclose(model.bert.embeddings.word_embeddings.weight, decoded["bert.embeddings.word_embeddings.weight"])
        assert torch.allclose(model.bert.encoder.w, decoded["bert.encoder.w"])
        assert torch.equal(model.classifier.weight, head_before)
