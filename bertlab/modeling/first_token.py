"""Sentence classification that computes the last layer for the [CLS] row only.

BertForSequenceClassification reads one row of the last layer: the first token's, through the
pooler. Every other row of that layer (its queries, attention output, feed-forward) is computed
and thrown away. Here the last layer computes keys and values for all rows (the first row attends
to them) but the query, the attention output and the feed-forward for the first row only: of that
layer's ~12 H^2 multiply-adds per token, 2 H^2 remain, so a 6-layer model does ~14% fewer FLOPs
per token, forward and backward. The logits are the model's own (same weights, same operations
on the rows that matter; dropout and the loss as BertForSequenceClassification applies them).

fine-tuning (training.tasks.classification), classification on PyTorch and the ONNX export
(inference.onnx_export) call it; any model it does not fit (`fits` says why) uses the plain forward.
"""

from __future__ import annotations


def fits(model) -> str | None:
    """None when `model` is a BERT sequence classifier this forward computes exactly, else why not."""
    config = getattr(model, "config", None)
    if getattr(config, "model_type", None) != "bert":
        return "not a BERT model"
    if not all(hasattr(model, a) for a in ("bert", "classifier", "dropout")):
        return "not BertForSequenceClassification"
    bert = model.bert
    if getattr(bert, "pooler", None) is None:
        return "no pooler"
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        return "a decoder"
    if getattr(config, "position_embedding_type", "absolute") not in (None, "absolute"):
        return "relative position embeddings"
    if getattr(config, "problem_type", None) not in (None, "single_label_classification"):
        return f"problem type {config.problem_type}"
    if getattr(config, "num_labels", 2) < 2:
        return "regression (one label)"
    implementation = getattr(config, "_attn_implementation", None) or "eager"
    # flex's block masks are built for T x T queries; fast_dropout's is SDPA's math while training
    if implementation not in ("eager", "sdpa", "bertlab_cpu_dropout"):
        return f"attention implementation {implementation!r}"
    try:
        last = bert.encoder.layer[-1]
        attention = last.attention.self
        needed = (attention.query, attention.key, attention.value, attention.scaling,
                  attention.attention_head_size, last.attention.output, last.intermediate, last.output)
    except (AttributeError, IndexError, TypeError):
        return "the layer layout is not BERT's"
    return None if all(n is not None for n in needed) else "the layer layout is not BERT's"


def _first_row_layer(layer, hidden, mask):
    """BertLayer's output for the first row only: (B, T, H) in, (B, 1, H) out."""
    from transformers.models.bert.modeling_bert import ALL_ATTENTION_FUNCTIONS, eager_attention_forward

    attention = layer.attention.self
    batch, length, _ = hidden.shape
    size = attention.attention_head_size
    first = hidden[:, :1]  # (B, 1, H)
    # (B, rows, H) -> (B, heads, rows, head size)
    query = attention.query(first).view(batch, 1, -1, size).transpose(1, 2)
    key = attention.key(hidden).view(batch, length, -1, size).transpose(1, 2)
    value = attention.value(hidden).view(batch, length, -1, size).transpose(1, 2)
    if mask is not None and mask.dim() == 4 and mask.shape[-2] != 1:
        mask = mask[:, :, :1]  # (B, 1, T, T) -> the first query row's (B, 1, 1, T)
    attend = ALL_ATTENTION_FUNCTIONS.get_interface(attention.config._attn_implementation, eager_attention_forward)
    context, _ = attend(attention, query, key, value, mask,
                        dropout=attention.dropout.p if attention.training else 0.0, scaling=attention.scaling)
    context = context.reshape(batch, 1, -1)  # (B, 1, heads x head size)
    attended = layer.attention.output(context, first)  # dense, dropout, LayerNorm(+ residual)
    return layer.output(layer.intermediate(attended), attended)  # (B, 1, H)


def logits(model, input_ids, attention_mask=None, token_type_ids=None):
    """(B, num_labels) logits, as model(...).logits gives them."""
    from transformers.masking_utils import create_bidirectional_mask

    bert = model.bert
    hidden = bert.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)  # (B, T, H)
    mask = create_bidirectional_mask(config=bert.config, inputs_embeds=hidden, attention_mask=attention_mask)
    for layer in bert.encoder.layer[:-1]:
        hidden = layer(hidden, mask)
    first = _first_row_layer(bert.encoder.layer[-1], hidden, mask)  # (B, 1, H)
    return model.classifier(model.dropout(bert.pooler(first)))


def classifier_logits(model, input_ids, attention_mask=None, token_type_ids=None):
    """`logits` where this forward fits the model, else the model's own forward's logits."""
    if fits(model) is None:
        return logits(model, input_ids, attention_mask, token_type_ids)
    return model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits


def loss_and_logits(model, input_ids, labels, attention_mask=None, token_type_ids=None):
    """Cross-entropy over the batch (BertForSequenceClassification's single-label loss) and the logits."""
    import torch.nn.functional as F

    out = logits(model, input_ids, attention_mask, token_type_ids)
    return F.cross_entropy(out.view(-1, out.shape[-1]), labels.view(-1)), out
