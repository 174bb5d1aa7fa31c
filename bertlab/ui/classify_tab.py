"""Sentence classification tab: one text (or pair) with label probabilities, or a whole file."""

from __future__ import annotations

import os
import tempfile

import gradio as gr

from ..errors import BadInput

INTRO = """
A fine-tuned BERT reads the sentence (or the pair, joined as `[CLS] A [SEP] B [SEP]`), and a small
classification layer on the `[CLS]` vector turns it into one probability per label. The offline
default is **default-sentiment**: bertlab's own fine-tuning of the default English encoder.
Every model you fine-tune in the *Fine-tuning* tab appears here as soon as it finishes.
"""

EXAMPLES = [
    ["A warm, funny and beautifully acted film.", ""],
    ["The plot makes no sense and the jokes fall flat.", ""],
    ["It is not as bad as the critics say.", ""],
]


def create_tab(service) -> dict:
    gr.Markdown(INTRO)
    choices = service.model_choices("classify")
    with gr.Row():
        model = gr.Dropdown(choices=choices, value=choices[0] if choices else None, allow_custom_value=True,
                            label="Model", info="a finished fine-tuning run, a local folder or a hub id")
        refresh = gr.Button("↻ models", scale=0)
    about = gr.Markdown(_about(service, choices[0] if choices else None))
    with gr.Row():
        text = gr.Textbox(label="Text", lines=2, placeholder="Type a sentence")
        pair = gr.Textbox(label="Second text (sentence-pair models only)", lines=2)
    run = gr.Button("Classify", variant="primary")
    label = gr.Label(label="Prediction", num_top_classes=10)
    message = gr.Markdown()
    gr.Examples(EXAMPLES, inputs=[text, pair])

    with gr.Accordion("Classify a file", open=False):
        gr.Markdown("Upload CSV, TSV, JSONL or JSON (a text column is detected), or plain text with one "
                    "sentence per line; download a CSV of predictions.")
        upload = gr.File(label="File", file_types=[".csv", ".tsv", ".jsonl", ".json", ".txt"])
        text_column = gr.Textbox(label="Text column (blank = detect)")
        run_file = gr.Button("Classify file")
        table = gr.Dataframe(label="Predictions (first 50)", interactive=False)
        download = gr.File(label="Predictions CSV")

    def classify(text_value, pair_value, model_name):
        try:
            result = service.classify(text_value, pair=pair_value or None, model=model_name or None)
        except BadInput as exc:
            gr.Warning(str(exc))
            return None, f"**Cannot classify:** {exc}"
        return {r["label"]: r["score"] for r in result["scores"]}, ""

    def classify_file(file, model_name, column):
        if file is None:
            gr.Warning("choose a file first")
            return None, None, "**Choose a file first.**"
        path = file if isinstance(file, str) else file.name
        out = os.path.join(tempfile.mkdtemp(prefix="bertlab-pred-"), "predictions.csv")
        try:
            result = service.classify_file(path, model=model_name or None, text_column=column or "", output=out)
        except BadInput as exc:
            gr.Warning(str(exc))
            return None, None, f"**Cannot classify the file:** {exc}"
        import pandas as pd

        return pd.DataFrame(result["rows"][:50]), out, f"{result['n']} rows classified."

    run.click(classify, [text, pair, model], [label, message], api_name="classify")
    text.submit(classify, [text, pair, model], [label, message])
    run_file.click(classify_file, [upload, model, text_column], [table, download, message], api_name="classify_file")
    model.change(lambda m: _about(service, m), model, about)
    refresh.click(lambda: gr.Dropdown(choices=service.model_choices("classify")), None, model)
    return {"model": model, "text": text, "pair": pair, "label": label, "message": message}


def _about(service, name) -> str:
    if not name:
        return ("*No classifier yet: fine-tune one in the Fine-tuning tab (or pass a hub id such as "
                "`distilbert-base-uncased-finetuned-sst-2-english` when online).*")
    try:
        info = service.describe(name, "classify")
    except BadInput as exc:
        return f"*{exc}*"
    labels = ", ".join(info.get("labels") or [])
    extra = info.get("metrics_note") or ""
    return f"*{info['name']}* — {info.get('description') or info['architecture']}; labels: {labels or '?'}. {extra}"
