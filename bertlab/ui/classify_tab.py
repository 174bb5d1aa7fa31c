"""Sentence classification tab: one text (or pair) with label probabilities, or a whole file."""

from __future__ import annotations

import html
import os
import tempfile


import gradio as gr

from ..errors import BadInput
from ..service import AUTO
from . import attention_view
from .common import hide_server_paths, md_escape, warn

INTRO = """
A fine-tuned BERT reads the sentence (or the pair, joined as `[CLS] A [SEP] B [SEP]`), and a small
classification layer on the `[CLS]` vector turns it into one probability per label. The offline
defaults are bertlab's own sentiment classifiers: **default-sentiment** (English, SST-2 movie reviews)
and **default-sentiment-chinese** (Chinese, ChnSentiCorp reviews); *auto* picks by the text's language.
Every model you fine-tune in the *Fine-tuning* tab appears here as soon as it finishes.
"""

EXAMPLES = [
    ["A warm, funny and beautifully acted film.", ""],
    ["The plot makes no sense and the jokes fall flat.", ""],
    ["It is not as bad as the critics say.", ""],
    ["房间很干净，服务也很周到，下次还会再来。", ""],
    ["质量太差了，用了两天就坏了，不推荐购买。", ""],
]


def create_tab(service) -> dict:
    gr.Markdown(INTRO)
    choices = [AUTO] + service.model_choices("classify")
    with gr.Row():
        # The list follows the runs folder by itself (bertlab.ui.app wires every model list).
        model = gr.Dropdown(choices=choices, value=AUTO, allow_custom_value=True, label="Model",
                            info="auto = default-sentiment-chinese for Chinese text, default-sentiment for "
                            "English; or a finished fine-tuning run, a local folder or a hub id")
    about = gr.Markdown(_about(service, AUTO))
    with gr.Row():
        text = gr.Textbox(label="Text", lines=2, placeholder="Type a sentence")
        pair = gr.Textbox(label="Second text (sentence-pair models only)", lines=2)
    run = gr.Button("Classify", variant="primary")
    label = gr.Label(label="Prediction", num_top_classes=10)
    message = gr.Markdown()
    with gr.Accordion("Why? Which words made this answer", open=False):
        gr.Markdown("Integrated gradients (Captum) on the word embeddings: each word's share of the "
                    "label's probability, green for evidence for the label, red against. Leave the label "
                    "empty for the predicted one.")
        with gr.Row():
            target = gr.Dropdown(choices=[""], value="", allow_custom_value=True, label="Label to explain",
                                 scale=3)
            explain_button = gr.Button("Explain", scale=1)
        heat = gr.HTML()
    gr.Examples(EXAMPLES, inputs=[text, pair])

    with gr.Accordion("Classify a file", open=False):
        gr.Markdown("Upload CSV, TSV, JSONL or JSON (a text column is detected), or plain text with one "
                    "sentence per line; download a CSV of predictions. Every column of your file is kept "
                    "(an id, a gold label), followed by the predicted label, its score and one probability "
                    "per label.")
        upload = gr.File(label="File", file_types=[".csv", ".tsv", ".jsonl", ".json", ".txt"])
        text_column = gr.Textbox(label="Text column (blank = detect)")
        run_file = gr.Button("Classify file")
        file_message = gr.Markdown()
        table = gr.Dataframe(label="Predictions (first 50)", interactive=False)
        download = gr.File(label="Predictions CSV")

    def classify(text_value, pair_value, model_name):
        try:
            result = service.classify(text_value, pair=pair_value or None, model=model_name or None)
        except BadInput as exc:
            warn(exc)
            return None, f"**Cannot classify:** {md_escape(str(exc))}"
        notes = "".join(f"\n- {md_escape(n)}" for n in result.get("notices") or [])
        return {r["label"]: r["score"] for r in result["scores"]}, f"answered by **{md_escape(result['model'])}**{notes}"

    def classify_file(file, model_name, column):
        if file is None:
            warn("choose a file first")
            return None, None, "**Choose a file first.**"
        path = file if isinstance(file, str) else file.name
        out = os.path.join(tempfile.mkdtemp(prefix="bertlab-pred-"), "predictions.csv")
        try:
            result = service.classify_file(path, model=model_name or None, text_column=column or "", output=out)
        except BadInput as exc:
            warn(exc)
            return None, None, f"**Cannot classify the file:** {md_escape(hide_server_paths(exc))}"
        import pandas as pd

        shown = min(50, result["n"])
        return (pd.DataFrame(result["rows"][:50]), out,
                f"{result['n']} rows classified by **{md_escape(result.get('model') or model_name or 'the model')}**"
                + (f"; the first {shown} are shown, the CSV holds all." if result["n"] > shown else "."))

    def explain(text_value, pair_value, model_name, target_label):
        try:
            result = service.explain(text_value, pair=pair_value or None, model=model_name or None,
                                     target=target_label or None)
        except BadInput as exc:
            warn(exc)
            return f"<p><b>Cannot explain:</b> {html.escape(hide_server_paths(exc))}</p>", gr.update(), None
        from ..service import heat_strip_html

        labels = [""] + list(result["labels"])
        return (heat_strip_html(result, text_value, pair_value or None),
                gr.Dropdown(choices=labels, value=target_label or ""), result)

    attention_view.create(service, text, pair, model, "classify")
    explanation = gr.JSON(visible=False)
    explain_button.click(explain, [text, pair, model, target], [heat, target, explanation],
                         api_name="classify_explain")
    gr.on([run.click, text.submit], classify, [text, pair, model], [label, message], api_name="classify")
    run_file.click(classify_file, [upload, model, text_column], [table, download, file_message],
                   api_name="classify_file")
    model.change(lambda m: _about(service, m), model, about, api_visibility="private")
    return {"model": model, "text": text, "pair": pair, "label": label, "message": message}


def _about(service, name) -> str:
    if not name:
        return ("*No classifier yet: fine-tune one in the Fine-tuning tab (or pass a hub id such as "
                "`distilbert-base-uncased-finetuned-sst-2-english` when online).*")
    if name == AUTO:
        return ("*auto*: Chinese text goes to **default-sentiment-chinese**, other text to "
                "**default-sentiment** (both label negative / positive).")
    try:
        info = service.describe(name, "classify")
    except BadInput as exc:
        return f"*{md_escape(str(exc))}*"
    labels = ", ".join(info.get("labels") or [])
    extra = info.get("metrics_note") or ""
    return (f"*{md_escape(info['name'])}* — {md_escape(info.get('description') or info['architecture'])}; "
            f"labels: {md_escape(labels or '?')}. {md_escape(extra)}")
