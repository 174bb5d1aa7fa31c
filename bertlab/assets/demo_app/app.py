"""A one-model demo page, exported from a bertlab run (python -m bertlab export-demo).

    pip install -r requirements.txt && python app.py      # http://127.0.0.1:7860

Self-contained: it needs the packages in requirements.txt and the files beside it (demo.json,
model/), not bertlab. It answers as bertlab does for the same model, so a prediction here matches
`python -m bertlab classify` / `fill-mask` on the run it came from:

* classification: the text (and second text) is tokenized with truncation at the length the model
  was fine-tuned with, and the label probabilities are the softmax of the logits;
* fill-mask: each [MASK] (or <mask>, or the model's own mask token, any spacing and case) becomes
  the tokenizer's mask token, the sentence is encoded once, and every mask gets the softmax over
  the whole vocabulary; special tokens are never offered as answers.

On a Hugging Face Space this file is the `app_file` named in README.md; Spaces set the host and
port through GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, which launch() reads.
"""

from __future__ import annotations

import html
import json
import os
import re
import unicodedata
from pathlib import Path

# No usage analytics or version checks: the demo also runs on machines without network.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import gradio as gr  # noqa: E402
import torch  # noqa: E402
from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoTokenizer  # noqa: E402

HERE = Path(__file__).resolve().parent
SETTINGS = json.loads((HERE / "demo.json").read_text(encoding="utf-8"))
TASK = SETTINGS["task"]  # "text-classification" | "fill-mask"
MAX_TEXT_CHARS = int(SETTINGS.get("max_text_chars", 5000))  # a public page: keep requests small

tokenizer = AutoTokenizer.from_pretrained(HERE / SETTINGS.get("model_dir", "model"))
model_class = AutoModelForSequenceClassification if TASK == "text-classification" else AutoModelForMaskedLM
model = model_class.from_pretrained(HERE / SETTINGS.get("model_dir", "model"))
model.eval()


def _check(text, what: str = "text") -> str:
    if text is None or not str(text).strip():
        raise gr.Error(f"The {what} is empty.")
    if len(text) > MAX_TEXT_CHARS:
        raise gr.Error(f"The {what} is {len(text)} characters; this demo takes at most {MAX_TEXT_CHARS}.")
    return str(text)


# ------------------------------------------------------------------------------ classification


def label_names() -> list[str]:
    id2label = getattr(model.config, "id2label", None) or {}
    return [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(model.config.num_labels)]


def classify(text: str, pair: str | None = None) -> dict[str, float]:
    """{label: probability}. Same limit as bertlab: the tokenizer's model_max_length (the length
    the run fine-tuned with) capped by the model's position embeddings."""
    text = _check(text)
    pair = _check(pair, "second text") if pair and str(pair).strip() else None
    limit = min(getattr(tokenizer, "model_max_length", 512) or 512,
                getattr(model.config, "max_position_embeddings", 512))
    enc = tokenizer([text], [pair] if pair else None, truncation=True, max_length=limit, padding=True,
                    return_tensors="pt")
    with torch.inference_mode():
        probs = torch.softmax(model(**enc).logits.float(), -1)[0]  # (num_labels,)
    return dict(zip(label_names(), probs.tolist()))


# ------------------------------------------------------------------------------ fill-mask


def _spelling(token: str) -> str:
    """`[MASK]` -> a pattern that also accepts `[ mask ]`: the token's words, any spacing between."""
    return r"\s*".join(re.escape(p) for p in re.findall(r"\w+|[^\w\s]", token))


MASK_TOKEN = getattr(tokenizer, "mask_token", None) or "[MASK]"
MASK_RE = re.compile("|".join(sorted({_spelling(s) for s in ("[MASK]", "<mask>", MASK_TOKEN)}, key=len,
                                     reverse=True)), re.IGNORECASE)
SPECIAL_IDS = sorted(set(int(i) for i in tokenizer.all_special_ids))
_backend = getattr(tokenizer, "backend_tokenizer", None)
# "##" for WordPiece: a candidate starting with it continues the word before the mask.
PIECE_PREFIX = (_backend.model.continuing_subword_prefix
                if _backend is not None and type(_backend.model).__name__ == "WordPiece" else None)


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
            or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F)


def _readable(token: str) -> tuple[str, bool]:
    """(the text that goes into the sentence, glued to the previous word?)."""
    if PIECE_PREFIX is not None:
        if token.startswith(PIECE_PREFIX) and len(token) > len(PIECE_PREFIX):
            return token[len(PIECE_PREFIX):], True
        return token, False
    text = tokenizer.convert_tokens_to_string([token]).strip()
    return text or token, False


def _needs_space(left: str, right: str) -> bool:
    return bool(left and right and left.isalnum() and right.isalnum() and not _is_cjk(left)
                and not _is_cjk(right))


def _fill(text: str, spans: list[tuple[int, int]], words: list[tuple[str, bool]]) -> str:
    out, cursor = [], 0
    for (start, end), (word, glue) in zip(spans, words):
        before = text[cursor:start]
        if glue:
            before = before.rstrip()
        elif _needs_space(before[-1:] if before else "".join(out)[-1:], word[:1]):
            before += " "
        out += [before, word]
        if _needs_space(word[-1:], text[end:end + 1]):
            out.append(" ")
        cursor = end
    return "".join(out) + text[cursor:]


def fill_mask(text: str, top_k: float = 5):
    """(the sentence with the best answers filled in, {token: probability} of the first mask,
    [{"position", "candidates": [{"token", "score"}]}] for every mask)."""
    text = unicodedata.normalize("NFC", _check(text))
    top_k = max(1, min(int(top_k or 5), 50))
    spans = [m.span() for m in MASK_RE.finditer(text)]
    if not spans:
        raise gr.Error(f"No mask in the text: write {MASK_TOKEN} where the missing word goes.")
    pieces, cursor = [], 0
    for start, end in spans:
        pieces += [text[cursor:start], MASK_TOKEN]
        cursor = end
    ids = tokenizer("".join(pieces) + text[cursor:], verbose=False)["input_ids"]
    positions = [i for i, t in enumerate(ids) if t == tokenizer.mask_token_id]
    if len(positions) != len(spans):
        raise gr.Error(f"Write each mask as {MASK_TOKEN} between words.")
    limit = min(x for x in (getattr(tokenizer, "model_max_length", 512), model.config.max_position_embeddings)
                if isinstance(x, int) and 0 < x < 1_000_000)
    if len(ids) > limit:
        raise gr.Error(f"The text is {len(ids)} tokens; this model reads at most {limit}. Shorten it.")
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids])).logits[0, positions].float()  # (masks, vocab)
    probs = torch.softmax(logits, -1)  # over the whole vocabulary, as the model was trained
    ranked = probs.clone()
    ranked[:, SPECIAL_IDS] = -1.0  # never offer [CLS], [SEP], [PAD], [UNK], [MASK]
    scores, top_ids = ranked.topk(min(top_k, ranked.shape[-1] - len(SPECIAL_IDS)), dim=-1)
    masks, best = [], []
    for position, row_ids, row_scores in zip(positions, top_ids.tolist(), scores.tolist()):
        tokens = tokenizer.convert_ids_to_tokens(row_ids)
        masks.append({"position": position,
                      "candidates": [{"token": t, "score": s} for t, s in zip(tokens, row_scores)]})
        best.append(_readable(tokens[0]))
    first = {c["token"]: c["score"] for c in masks[0]["candidates"]}
    return _fill(text, spans, best), first, masks


# ------------------------------------------------------------------------------ the page


def build() -> gr.Blocks:
    title = SETTINGS.get("title") or "BERT demo"
    examples = SETTINGS.get("examples") or []
    with gr.Blocks(title=title) as demo:
        gr.Markdown(f"# {html.escape(title)}")
        if SETTINGS.get("intro"):
            gr.Markdown(SETTINGS["intro"])
        if TASK == "text-classification":
            with gr.Row():
                with gr.Column():
                    inputs = [gr.Textbox(label="Text", lines=3, placeholder="Type a sentence")]
                    if SETTINGS.get("pair"):
                        inputs.append(gr.Textbox(label="Second text", lines=2))
                    button = gr.Button("Classify", variant="primary")
                labels = gr.Label(label="Label probabilities", num_top_classes=min(10, len(label_names())))
            button.click(classify, inputs, labels, api_name="classify")
            inputs[0].submit(classify, inputs, labels, api_visibility="private")
        else:
            with gr.Row():
                with gr.Column():
                    inputs = [gr.Textbox(label=f"Text with {MASK_TOKEN}", lines=3,
                                         placeholder=f"The capital of France is {MASK_TOKEN}.")]
                    top_k = gr.Slider(1, 20, value=5, step=1, label="Answers per mask")
                    button = gr.Button("Predict", variant="primary")
                with gr.Column():
                    filled = gr.Textbox(label="Filled in", interactive=False)
                    bars = gr.Label(label="First mask", num_top_classes=20)
                    with gr.Accordion("Every mask", open=False):
                        every = gr.JSON()
            button.click(fill_mask, inputs + [top_k], [filled, bars, every], api_name="fill_mask")
            inputs[0].submit(fill_mask, inputs + [top_k], [filled, bars, every], api_visibility="private")
        if examples:
            gr.Examples(examples, inputs, label="Examples", cache_examples=False)
        if SETTINGS.get("card"):
            with gr.Accordion("About this model", open=False):
                gr.Markdown(SETTINGS["card"])
    return demo


demo = build()

if __name__ == "__main__":
    demo.queue(max_size=int(SETTINGS.get("queue_max", 32)))
    demo.launch()
