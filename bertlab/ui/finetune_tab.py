"""The fine-tuning tab: labeled data in, a sentence classifier out, metrics streaming in.

Wiring only. The run itself trains in a worker process (`service.start_run` -> bertlab.training.runs), so
closing the tab loses nothing; the page polls the run folder with a gr.Timer and draws what the
engine wrote (events.jsonl, eval_latest.json). Which run the tab shows is the value of its "Run"
dropdown: per browser session, set by Start, by picking a run, and on page load to the newest
running or queued fine-tuning run, so a refreshed page re-attaches to the run it was watching.

API names (for gradio_client): finetune_preview, finetune_estimate, finetune_start, finetune_status,
finetune_stop, finetune_resume, finetune_download.
"""

from __future__ import annotations

import html

import gradio as gr
import pandas as pd

from ..config import TrainConfig
from ..errors import BadInput
from . import common
from .run_panel import RunPanel


ABOUT = """\
### Fine-tuning: teach BERT your labels
Fine-tuning puts a **new classification layer** (one linear layer, randomly initialised) on top of
the vector BERT computes for the `[CLS]` token at the start of every input, and then trains on your
labeled examples with **cross-entropy loss**. **All weights are updated**, the pre-trained encoder's
as well as the new layer's, with a small learning rate so the encoder keeps what it learned in
pre-training. Sentence pairs (paraphrase, entailment) are read together as `[CLS] A [SEP] B [SEP]`.
A few hundred examples and a few minutes on a CPU already give a useful classifier.
"""

DATA_TYPES = [".csv", ".tsv", ".jsonl", ".json", ".txt"]

# Inputs of the start and estimate endpoints, in order (they are also the API parameter names).
FORM_KEYS = ["train_file", "validation_file", "example", "text_column", "text_pair_column", "label_column",
             "model", "epochs", "lr", "batch_size", "max_length", "warmup", "weight_decay", "seed",
             "eval_every", "early_stopping_patience", "max_train_samples", "max_minutes",
             "validation_fraction", "accelerate_config"]
# Outputs of the status endpoint (and of every timer tick), in order.
STATUS_KEYS = ["progress", "loss_plot", "loss_plot_legend", "metrics_plot", "metrics_plot_legend", "roc_plot",
               "roc_plot_legend", "confusion", "per_class", "hardest",
               "run_data", "latest", "stop", "resume", "download", "timer"]
# What gradio_client receives from the status endpoint: buttons are not API outputs.
STATUS_API_KEYS = [k for k in STATUS_KEYS if k not in ("stop", "resume", "download")]
PREVIEW_KEYS = ["preview_table", "preview_info", "text_column", "text_pair_column", "label_column"]

# The engine writes a progress event every N steps; the page polls every 1.5 s, so a small N keeps
# what it shows fresh even when one step of a real model takes a second on a CPU.
LOG_EVERY = 2

DETECT = ("(detect)", "")
NO_PAIR = ("(none: single sentences)", "-")


# ---------------------------------------------------------------------------------- config


# Form inputs -> the config settings they set (the rest of the config keeps the task's defaults).
SETTINGS = {"text_column": "finetune.text_column", "text_pair_column": "finetune.text_pair_column",
            "label_column": "finetune.label_column", "model": "model", "epochs": "epochs", "lr": "lr",
            "batch_size": "batch_size", "max_length": "finetune.max_length", "warmup": "warmup",
            "weight_decay": "weight_decay", "seed": "seed", "eval_every": "eval_every",
            "early_stopping_patience": "early_stopping_patience", "max_train_samples": "finetune.max_train_samples",
            "max_minutes": "max_minutes", "validation_fraction": "finetune.validation_fraction"}


def finetune_config(train: str, validation: str = "", **form) -> TrainConfig:
    """The TrainConfig the CLI's `finetune` builds from the same values: the task's defaults
    (bertlab.config) with the form's values, checked with the field named."""
    values = {SETTINGS[key]: value for key, value in form.items()}
    values["model"] = str(values.get("model") or "").strip()
    values.update({"finetune.train": train or "", "finetune.validation": validation or "", "log_every": LOG_EVERY})
    return common.config_from_form(TrainConfig.for_task("finetune"), values)


def labeled_examples(service) -> dict[str, str]:
    """Example labeled sets (name -> path); corpora belong to the pre-training tab."""
    files, _ = common.attempt("list the example files", service.example_files)
    return {name: path for name, path in (files or {}).items() if "corpus" not in name.lower()}


def example_path(service, name: str) -> str:
    """The path of a named example. Only names are accepted from the page: a request can never
    make the server read a path of its choosing."""
    if not name:
        return ""
    files = labeled_examples(service)
    if name not in files:
        raise BadInput(f"unknown example data {name!r}; choose one of: "
                       f"{', '.join(files) or 'none available'}")
    return files[name]


# ---------------------------------------------------------------------------------- rendering


def confusion_html(details: dict) -> str:
    """The confusion matrix as a table shaded by each true class's share (so the diagonal reads as
    recall), counts in the cells; rows are true labels, columns predictions."""
    matrix, names = details.get("confusion_matrix"), details.get("label_names") or details.get("labels")
    if not matrix or not names:
        return "<p><em>The confusion matrix appears after the first evaluation.</em></p>"
    esc = lambda s: html.escape(str(s))
    head = "".join(f"<th style='padding:4px 8px'>{esc(n)}</th>" for n in names)
    rows = []
    for name, row in zip(names, matrix):
        total = sum(row) or 1
        cells = []
        for j, count in enumerate(row):
            share = count / total
            hue = "34,139,34" if names[j] == name else "200,60,60"  # green diagonal, red confusions
            background = f"rgba({hue},{0.08 + 0.72 * share:.2f})"
            cells.append(f"<td style='padding:4px 8px;text-align:right;background:{background}'"
                         f" title='{share:.0%} of true {esc(name)}'>{count}</td>")
        rows.append(f"<tr><th style='padding:4px 8px;text-align:left'>{esc(name)}</th>{''.join(cells)}</tr>")
    n = sum(sum(r) for r in matrix)
    return (f"<div><strong>Confusion matrix</strong> ({n} validation examples; rows: true label, "
            f"columns: predicted)<table style='border-collapse:collapse;margin-top:4px'>"
            f"<tr><th style='padding:4px 8px'>true \\ predicted</th>{head}</tr>{''.join(rows)}</table></div>")


FPR = "false positive rate"
ROC_SERIES = ("ROC (validation)", "chance")


def roc_frame(details: dict) -> pd.DataFrame:
    """The ROC curve and the chance diagonal, always with both series (see common.curve_frame)."""
    import math

    curve = details.get("roc_curve")
    rows = [(0.0, 0.0, ROC_SERIES[1]), (1.0, 1.0, ROC_SERIES[1])]
    if curve and curve.get("fpr"):
        rows += [(float(f), float(t), ROC_SERIES[0]) for f, t in zip(curve["fpr"], curve["tpr"])]
    else:
        rows.append((math.nan, math.nan, ROC_SERIES[0]))
    frame = pd.DataFrame(rows, columns=[FPR, "value", "series"])
    return frame.astype({FPR: float, "value": float, "series": str})


def per_class_frame(details: dict) -> pd.DataFrame:
    rows = [[r.get("label"), r.get("precision"), r.get("recall"), r.get("f1"), r.get("support")]
            for r in details.get("per_class") or []]
    return pd.DataFrame(rows, columns=["label", "precision", "recall", "F1", "support"]).round(4)


def hardest_frame(details: dict) -> pd.DataFrame:
    examples = details.get("hardest_examples") or []
    has_pair = any("pair" in e for e in examples)
    cols = ["text"] + (["pair"] if has_pair else []) + ["label", "predicted", "confidence", "loss"]
    rows = [[e.get(c) for c in cols] for e in examples]
    return pd.DataFrame(rows, columns=cols).round(4)


def data_markdown(summary: dict) -> str:
    if not summary:
        return ""
    lines = [f"**Data:** {summary.get('train_examples', '?')} training / "
             f"{summary.get('validation_examples', '?')} validation examples from "
             f"{common.md_escape(common.hide_server_paths(summary.get('train_file', '?')))}; validation: "
             f"{common.md_escape(common.hide_server_paths(summary.get('validation_file', '?')))}"]
    cols = [f"text **{common.md_escape(summary.get('text_column'))}**"]
    if summary.get("text_pair_column"):
        cols.append(f"pair **{common.md_escape(summary['text_pair_column'])}**")
    cols.append(f"label **{common.md_escape(summary.get('label_column'))}**")
    lines.append("Columns: " + ", ".join(cols))
    counts = summary.get("train_label_counts") or {}
    if counts:
        lines.append("Labels (training counts): " + ", ".join(f"**{common.md_escape(k)}** {v}" for k, v in counts.items()))
    if summary.get("skipped_empty"):
        lines.append(f"Skipped {summary['skipped_empty']} rows with an empty text or label.")
    for notice in summary.get("notices") or []:
        lines.append(f"*{common.md_escape(common.hide_server_paths(notice))}*")
    return "  \n".join(lines)


def view(state: dict | None) -> dict:
    """The tab's own part of the live view (the run panel adds the status line and buttons)."""
    details = (state or {}).get("eval_details") or {}
    events = (state or {}).get("events") or []
    summary = (state or {}).get("summary") or {}
    latest = common.status_json(state)
    if details:
        latest["eval_details"] = {k: details[k] for k in ("confusion_matrix", "per_class", "label_names")
                                  if k in details}
    return {
        **common.chart("loss_plot", common.loss_frame(events, "finetune"), common.LOSS_SERIES, "loss"),
        **common.chart("metrics_plot", common.metrics_frame(events, "finetune"), common.FINETUNE_METRICS,
                       "value"),
        **common.chart("roc_plot", roc_frame(details), ROC_SERIES, "true positive rate", FPR),
        "confusion": confusion_html(details),
        "per_class": per_class_frame(details),
        "hardest": hardest_frame(details),
        "run_data": data_markdown((state or {}).get("data_summary") or {}),
        "latest": latest,
        "download": gr.Button(visible=bool(summary.get("has_final"))),
    }


def run_panel(service) -> RunPanel:
    return RunPanel(service, "finetune", keys=STATUS_KEYS, view=view,
                    api={"status": "finetune_status", "stop": "finetune_stop", "resume": "finetune_resume"},
                    model_note="in the model lists (sentence classification, and as a base for new runs)",
                    stop_note="keeps a checkpoint, so it can be resumed.")


def status_values(service, run: str) -> dict:
    """Everything the live view shows for `run`, keyed as STATUS_KEYS (plus the signature)."""
    return run_panel(service).values(run)


# ---------------------------------------------------------------------------------- the tab


def create_tab(service) -> dict:
    d = TrainConfig.for_task("finetune")  # the CLI's defaults too (bertlab.config)
    number = lambda key, **kwargs: common.setting_number(d, key, **kwargs)
    examples = labeled_examples(service)
    models, _ = common.attempt("list the models", service.model_choices, "finetune")
    models = models or ["default"]
    c: dict = {}

    gr.Markdown(ABOUT)
    if service.demo:
        gr.Markdown(common.DEMO_NOTE)

    with gr.Column(visible=not service.demo) as setup:
        gr.Markdown("#### 1 · Data")
        with gr.Row():
            c["train_file"] = gr.File(label="Training file (CSV, TSV, JSONL or JSON list of records)",
                                      file_types=DATA_TYPES, type="filepath")
            c["validation_file"] = gr.File(label="Validation file (optional)", file_types=DATA_TYPES,
                                           type="filepath")
            with gr.Column():
                c["example"] = gr.Dropdown(choices=[("(none)", "")] + [(n, n) for n in examples], value="",
                                           label="…or use example data",
                                           info="shipped with bertlab; used when no file is uploaded")
                c["validation_fraction"] = number("finetune.validation_fraction",
                                                  info="held out (stratified) without a validation file")
        c["preview_info"] = gr.Markdown()
        c["preview_table"] = gr.Dataframe(label="First rows", interactive=False, wrap=True, max_height=260,
                                          visible=False)
        with gr.Row():
            c["text_column"] = gr.Dropdown(choices=[DETECT], value="", label="Text column")
            c["text_pair_column"] = gr.Dropdown(choices=[DETECT, NO_PAIR], value="",
                                                label="Second text column (sentence pairs)")
            c["label_column"] = gr.Dropdown(choices=[DETECT], value="", label="Label column")

        gr.Markdown("#### 2 · Model and training")
        with gr.Row():
            c["model"] = gr.Dropdown(choices=models, value="default" if "default" in models else models[0],
                                     allow_custom_value=True, label="Model",
                                     info="default, a finished run (pre-trained too), a folder or a hub id")
            c["epochs"] = number("epochs", minimum=0)
            c["lr"] = number("lr")
            c["batch_size"] = number("batch_size", minimum=1)
            c["max_length"] = number("finetune.max_length")
            c["max_minutes"] = number("max_minutes",
                                      info="time budget (0 = none); the run ends cleanly with its model saved")
        with gr.Accordion("Advanced", open=False):
            with gr.Row():
                c["warmup"] = number("warmup", info="< 1: share of the steps; ≥ 1: number of steps")
                c["weight_decay"] = number("weight_decay")
                c["seed"] = number("seed")
                c["eval_every"] = number("eval_every", info="0 = after every epoch")
            with gr.Row():
                c["early_stopping_patience"] = number("early_stopping_patience",
                                                      info="evaluations without improvement; 0 = off")
                c["max_train_samples"] = number("finetune.max_train_samples", info="use only the first N rows; 0 = all")
            gr.Markdown(common.ACCELERATE_HELP)
            c["accelerate_config"] = common.accelerate_file(gr)
        with gr.Row():
            c["estimate_button"] = gr.Button("Estimate time and memory")
            c["start"] = gr.Button("Start fine-tuning", variant="primary", interactive=not service.demo)
        c["estimate"] = gr.Markdown()
    c["setup"] = setup

    gr.Markdown("#### 3 · The run")
    panel = run_panel(service)
    panel.message()
    panel.chooser(info="the run shown below; pick any fine-tuning run to watch it", refresh=True)
    panel.progress()
    with gr.Row():
        c["loss_plot"], c["loss_plot_legend"] = common.line_plot("Loss (train and validation)", "loss",
                                                                 common.LOSS_SERIES)
        c["metrics_plot"], c["metrics_plot_legend"] = common.line_plot("Validation metrics over time", "value", common.FINETUNE_METRICS,
                                             y_lim=[0, 1])
    with gr.Row():
        c["roc_plot"], c["roc_plot_legend"] = common.line_plot("ROC curve (validation; two classes)", "true positive rate",
                                         ROC_SERIES, x=FPR, frame=roc_frame({}), x_lim=[0, 1], y_lim=[0, 1])
        with gr.Column():
            c["confusion"] = gr.HTML(confusion_html({}))
            c["per_class"] = gr.Dataframe(value=per_class_frame({}), label="Per class", interactive=False)
    c["hardest"] = gr.Dataframe(value=hardest_frame({}), label="Validation examples with the highest loss",
                                interactive=False, wrap=True, max_height=320)
    c["run_data"] = gr.Markdown()
    with gr.Row():
        c["download"] = gr.Button("Prepare the model for download (zip)", visible=False)
        c["download_file"] = gr.File(label="Model (save_pretrained folder, zipped)", visible=False,
                                     interactive=False)
    with gr.Accordion("Status as JSON", open=False):
        c["latest"] = gr.JSON()
    panel.timer()
    c.update(panel.c)

    status_outputs = panel.outputs(c)
    form_inputs = [c[k] for k in FORM_KEYS]

    # ------------------------------------------------------------------ handlers

    def data_path(train_file, example) -> str:
        upload = common.upload_path(train_file)
        return common.check_upload_size(service, upload) if upload else example_path(service, example)

    def preview(train_file, example):
        """First rows, detected columns, and the column dropdowns set to what was detected."""
        empty = [gr.Dataframe(value=None, visible=False), "", gr.Dropdown(choices=[DETECT], value=""),
                 gr.Dropdown(choices=[DETECT, NO_PAIR], value=""), gr.Dropdown(choices=[DETECT], value="")]
        path, error = common.attempt("find the data", data_path, train_file, example)
        if error:
            return [empty[0], common.error_box(error)] + empty[2:]
        if not path:
            return empty
        result, error = common.attempt("read the file", service.preview_labeled, path)
        if error:
            common.warn(error)
            return [empty[0], common.error_box(error)] + empty[2:]
        columns = [str(col) for col in result.get("columns", [])]
        rows = result.get("rows", [])
        frame = pd.DataFrame([list(r) + [""] * (len(columns) - len(r)) for r in rows], columns=columns)
        det = result.get("detected") or {}
        info = [f"**{result.get('format', '?')}**"
                + (f", {result['encoding']}" if result.get("encoding") else "")
                + (f", {result['n_rows']:,} rows" if result.get("n_rows") is not None else "")
                + ("" if result.get("has_header", True) else ", no header row (columns numbered)")
                + f". Detected: text **{common.md_escape(det.get('text') or '?')}**"
                + (f", pair **{common.md_escape(det['text_pair'])}**" if det.get("text_pair") else "")
                + f", label **{common.md_escape(det.get('label') or '?')}** — change them below if they are wrong."]
        info += [f"*{html.escape(str(n), quote=False)}*" for n in result.get("notices") or []]
        if result.get("problem"):
            info.append(common.error_box(result["problem"]) + " Choose the columns below.")
        choices = [DETECT] + [(col, col) for col in columns]
        return [gr.Dataframe(value=frame, visible=True), "  \n".join(info),
                gr.Dropdown(choices=choices, value=det.get("text") or ""),
                gr.Dropdown(choices=[DETECT, NO_PAIR] + [(col, col) for col in columns],
                            value=det.get("text_pair") or "-"),
                gr.Dropdown(choices=choices, value=det.get("label") or "")]

    def build(values: dict) -> TrainConfig:
        validation = common.upload_path(values["validation_file"])
        return finetune_config(
            data_path(values["train_file"], values["example"]),
            common.check_upload_size(service, validation) if validation else "",
            **{k: values[k] for k in FORM_KEYS if k not in ("train_file", "validation_file", "example",
                                                            "accelerate_config")})

    def estimate(*values):
        config, error = common.attempt("check the settings", build, dict(zip(FORM_KEYS, values)))
        if error:
            return common.error_box(error)
        result, error = common.attempt("estimate the run", service.estimate, config)
        if error:  # the estimate is a courtesy: say why there is none, never block the start
            return common.info_box(f"No estimate: {error}")
        return common.estimate_markdown(result)

    def start(*values):
        """Check the form, copy uploads into a new run folder, and launch the worker."""
        values = dict(zip(FORM_KEYS, values))
        no_change = [gr.update(), gr.update()]
        if service.demo:
            return [common.error_box("Training is switched off in this public demo.")] + no_change
        config, error = common.attempt("check the settings", build, values)
        if error:
            common.warn(error)
            return [common.error_box(error)] + no_change
        # The data as the run will read it, before any run folder exists: a file that cannot train
        # (empty, header only, not a table, one class) is refused here with the preview's message.
        checked, error = common.attempt("read the data", service.check_finetune_data, config)
        if error:
            common.warn(error)
            return [common.error_box(f"Not started: {error}")] + no_change
        # The service copies the uploads into the new run folder, so the run owns its data.
        config.accelerate_config = common.upload_path(values["accelerate_config"])
        uploads = [common.upload_path(values[k]) for k in ("train_file", "validation_file", "accelerate_config")]
        try:
            run_path = service.start_run(config, uploads=uploads)
        except Exception as exc:  # BadInput: the user's to fix; anything else: logged
            return common.start_failed(exc, "fine-tuning") + no_change
        return panel.started(run_path, notes=checked.get("notes"))

    def download(run):
        if not run:
            return gr.File(value=None, visible=False), common.error_box("Choose a run first.")
        path, error = common.attempt("zip the model", service.model_zip, run)
        if error:
            return gr.File(value=None, visible=False), common.error_box(error)
        return gr.File(value=path, visible=True), common.info_box(
            "The zip holds the save_pretrained folder: weights, tokenizer, config with the label names, "
            "and a model card.")

    # ------------------------------------------------------------------ wiring

    preview_outputs = [c[k] for k in PREVIEW_KEYS]
    c["train_file"].change(preview, [c["train_file"], c["example"]], preview_outputs,
                           api_name="finetune_preview")
    c["example"].input(preview, [c["train_file"], c["example"]], preview_outputs, api_visibility="private")
    c["estimate_button"].click(estimate, form_inputs, [c["estimate"]], api_name="finetune_estimate")
    c["start"].click(start, form_inputs, [c["message"], c["run"], c["timer"]], api_name="finetune_start",
                     concurrency_limit=1).then(
        panel.status, [c["run"]], status_outputs, api_visibility="private")
    c["download"].click(download, [c["run"]], [c["download_file"], c["message"]],
                        api_name="finetune_download")
    c["load"] = panel.wire(c)  # app.py runs these when a page opens
    return c
