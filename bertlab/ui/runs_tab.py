"""The runs tab: every run on this machine, its status and curves, and stop / resume / delete.

Wiring only, over `service.list_runs` / `run_state` / `stop_run` / `resume_run` / `delete_run`
and `export_demo` (the "Publish as a demo" panel: a stand-alone app folder of a finished run, as a
zip, and optionally a Hugging Face Space).
The table refreshes itself with a gr.Timer (re-sent only when something changed), so runs started
from the CLI or another browser appear on their own. In public demo mode the tab is read-only.

API names (for gradio_client): runs_list, run_status, run_stop, run_resume, run_delete,
run_export_demo, run_publish_demo, run_export_onnx (the compression panel, ui/compress_view.py).
"""

from __future__ import annotations

import gradio as gr

# The chart slots of a comparison (bertlab.training.compare, through the service).
from ..service import COMPARE_SLOTS, MAX_COMPARED
from . import common, compress_view
from .run_panel import RunPanel

ABOUT = """\
### Runs
Every fine-tuning and pre-training run on this machine, newest first: started here, from another
browser, or from the command line (`python -m bertlab runs list`). A run trains in its own process,
so closing the page loses nothing. One run trains at a time; others wait in a queue. A stopped,
failed or interrupted run resumes from its last complete checkpoint at the same step.
"""

COMPARE_ABOUT = """\
Pick two or more runs: their training loss and main validation metric (accuracy for fine-tuning,
MLM accuracy for pre-training) on one chart each, by step or by elapsed time, the settings that
differ between them, and their final figures. `python -m bertlab runs compare A B` prints the same.
"""
COMPARE_KEYS = ["compare_loss", "compare_loss_legend", "compare_metric", "compare_metric_legend", "compare_finals",
                "compare_config", "compare_message"]

STATUS_KEYS = ["progress", "ft_loss", "ft_loss_legend", "ft_metrics", "ft_metrics_legend", "pt_loss",
               "pt_loss_legend", "pt_metrics", "pt_metrics_legend", "config", "results",
               "data_summary", "latest", "ft_plots", "pt_plots", "stop", "resume", "delete",
               "export_demo", "publish_demo"]
# What gradio_client receives from the status endpoint: buttons are not API outputs.
STATUS_API_KEYS = [k for k in STATUS_KEYS if k not in ("ft_plots", "pt_plots", "stop", "resume", "delete",
                                                       "export_demo", "publish_demo")]

PUBLISH_ABOUT = """\
A **share link** (`python app.py --share`) lasts up to a week, and only while this machine serves
the page. For a demo that stays up, write this run as its own small app: a folder with `app.py`
(the classification or fill-mask view, examples from the run's data, the model card), the model,
a pinned `requirements.txt` and a README that a **Hugging Face Space** reads. It runs anywhere with
`pip install -r requirements.txt && python app.py`, without bertlab. **Publish to Hugging Face**
uploads it as a Space with this server's Hugging Face login (`HF_TOKEN` or `hf auth login`).
"""
TABLE_POLL_S = 2.0


def run_panel(service) -> RunPanel:
    def view(state: dict | None) -> dict:
        """One pair of plots per task, each with a fixed set of series (see common.curve_frame); the
        pair that fits the run is shown. Server folders are taken out of the JSON views."""
        summary = (state or {}).get("summary") or {}
        events = (state or {}).get("events") or []
        pretrain = summary.get("task") == "pretrain"
        publishable = (not service.demo and bool(state) and bool(summary.get("has_final"))
                       and summary.get("state") not in common.ACTIVE)
        return {**common.chart("ft_loss", common.loss_frame([] if pretrain else events, "finetune"),
                               common.LOSS_SERIES, "loss"),
                **common.chart("ft_metrics", common.metrics_frame([] if pretrain else events, "finetune"),
                               common.FINETUNE_METRICS, "value"),
                **common.chart("pt_loss", common.loss_frame(events if pretrain else [], "pretrain"),
                               common.PRETRAIN_LOSSES, "loss"),
                **common.chart("pt_metrics", common.metrics_frame(events if pretrain else [], "pretrain"),
                               common.PRETRAIN_METRICS, "accuracy"),
                "ft_plots": gr.Column(visible=not pretrain), "pt_plots": gr.Column(visible=pretrain),
                "config": common.public_view((state or {}).get("config") or {}),
                "results": (state or {}).get("results") or {},
                "data_summary": common.public_view((state or {}).get("data_summary") or {}),
                "export_demo": gr.Button(interactive=publishable), "publish_demo": gr.Button(interactive=publishable)}

    return RunPanel(service, None, keys=STATUS_KEYS, view=view,
                    api={"status": "run_status", "stop": "run_stop", "resume": "run_resume", "delete": "run_delete"},
                    model_note="in the model lists", stop_note="keeps a checkpoint.")


def status_values(service, run: str) -> dict:
    return run_panel(service).values(run)


def create_tab(service) -> dict:
    c: dict = {}
    gr.Markdown(ABOUT)
    if service.demo:
        gr.Markdown("*Public demo: this list is read-only (runs cannot be stopped, resumed or deleted "
                    "here).*")
    with gr.Row():
        c["refresh"] = gr.Button("↻ Refresh", size="sm", scale=0)
    c["table"] = gr.Dataframe(value=common.runs_frame([]), interactive=False, wrap=True, max_height=360,
                              label="All runs (click a row to show it below)")
    panel = run_panel(service)
    panel.chooser(delete=True)
    panel.message()
    panel.progress()
    with gr.Column() as c["ft_plots"]:
        with gr.Row():
            c["ft_loss"], c["ft_loss_legend"] = common.line_plot("Loss", "loss", common.LOSS_SERIES)
            c["ft_metrics"], c["ft_metrics_legend"] = common.line_plot("Validation metrics", "value", common.FINETUNE_METRICS,
                                               y_lim=[0, 1])
    with gr.Column(visible=False) as c["pt_plots"]:
        with gr.Row():
            c["pt_loss"], c["pt_loss_legend"] = common.line_plot("MLM and NSP loss", "loss", common.PRETRAIN_LOSSES)
            c["pt_metrics"], c["pt_metrics_legend"] = common.line_plot("MLM and NSP accuracy", "accuracy", common.PRETRAIN_METRICS,
                                               y_lim=[0, 1])
    with gr.Row():
        with gr.Accordion("Results", open=True):
            c["results"] = gr.JSON()
        with gr.Accordion("Data", open=False):
            c["data_summary"] = gr.JSON()
    with gr.Accordion("Compare runs side by side", open=False):
        gr.Markdown(COMPARE_ABOUT)
        with gr.Row():
            c["compare_runs"] = gr.Dropdown(choices=[], value=[], multiselect=True, scale=4, allow_custom_value=True,
                                            label=f"Runs to compare (2 to {MAX_COMPARED})")
            c["compare_x"] = gr.Radio([("step", "step"), ("elapsed time", "time")], value="step",
                                      label="x axis", scale=1)
            c["compare_button"] = gr.Button("Compare", scale=1)
        c["compare_message"] = gr.Markdown()
        with gr.Row():
            c["compare_loss"], c["compare_loss_legend"] = common.line_plot(
                "Training loss (MLM loss for pre-training)", "loss", COMPARE_SLOTS, x="x")
            c["compare_metric"], c["compare_metric_legend"] = common.line_plot(
                "Validation metric", "value", COMPARE_SLOTS, x="x", y_lim=[0, 1])
        c["compare_finals"] = gr.Dataframe(label="Final figures", interactive=False, wrap=True)
        c["compare_config"] = gr.Dataframe(label="Settings that differ (run_config.json)", interactive=False,
                                           wrap=True)
    # A finished run as a stand-alone demo: hidden in public demo mode (it writes on the server
    # and would publish with the server's own Hugging Face login).
    with gr.Accordion("Publish as a demo", open=False, visible=not service.demo) as c["publish_panel"]:
        gr.Markdown(PUBLISH_ABOUT)
        with gr.Row():
            c["demo_title"] = gr.Textbox(label="Title", placeholder="default: from the labels", scale=3)
            c["export_demo"] = gr.Button("Write demo folder", interactive=False, scale=1)
        c["demo_zip"] = gr.File(label="Demo folder (zip)", visible=False, interactive=False)
        with gr.Row():
            c["space_name"] = gr.Textbox(label="Space name", placeholder="your-user/your-demo", scale=3)
            c["hub_token"] = gr.Textbox(label="Hugging Face token (write access)", type="password", scale=3,
                                        info="used for this upload only, never stored; leave empty to use this "
                                             "server's own login (only on a page served to this machine alone)")
            c["publish_demo"] = gr.Button("Publish to Hugging Face", interactive=False, scale=1)
        c["publish_message"] = gr.Markdown()
    c.update(compress_view.create_panel(service, panel.c["run"]))  # ONNX / int8 export of a fine-tuned run
    with gr.Accordion("Configuration (run_config.json)", open=False):
        c["config"] = gr.JSON()
    with gr.Accordion("Status as JSON", open=False):
        c["latest"] = gr.JSON()
    c["timer"] = gr.Timer(TABLE_POLL_S, active=True)  # the table's, and the shown run's
    c["seen"] = gr.State(["", ""])  # signatures of the table and of the shown run
    c.update(panel.c)

    status_outputs = panel.outputs(c)
    status = panel.status

    # ------------------------------------------------------------------ handlers

    def listing(current=""):
        rows = common.safe_list_runs(service)
        choices = common.run_choices(rows, with_state=True)
        return common.runs_frame(rows), gr.Dropdown(choices=choices, value=current or "")

    def tick(run, seen):
        """Re-send the table and the shown run only when they changed."""
        rows = common.safe_list_runs(service)
        frame = common.runs_frame(rows)
        table_sig = frame.to_json()
        changed = table_sig != seen[0]
        out = [frame if changed else gr.skip(),
               gr.Dropdown(choices=common.run_choices(rows, with_state=True)) if changed else gr.skip()]
        *shown, run_sig = panel.tick(run, seen[1]) if run else [gr.skip()] * len(STATUS_KEYS) + [""]
        return out + shown + [[table_sig, run_sig]]

    def select_row(table, evt: gr.SelectData):
        row = getattr(evt, "row_value", None)
        if not row:
            try:
                row = table.iloc[evt.index[0]].tolist()
            except Exception:
                return gr.update()
        return row[0]

    def export_demo(run, title):
        """Write RUN/demo/ and offer it as a zip. Messages name the run, never a server path."""
        hidden = gr.File(value=None, visible=False)
        if service.demo:
            return hidden, common.error_box("This public demo is read-only.")
        if not run:
            return hidden, common.error_box("Choose a run first.")
        result, error = common.attempt("write the demo folder", service.export_demo, run, title or "")
        if error:
            return hidden, common.error_box(error)
        return gr.File(value=result["zip"], visible=True), common.info_box(
            f"Wrote the demo of {run} ({result['examples']} examples from {result['examples_from']}; licence "
            f"{result['license']}: {result['license_note']}). Unzip it and run pip install -r requirements.txt "
            "&& python app.py, or upload it as a Gradio Space.")

    def publish_demo(run, title, space, token=""):
        hidden = gr.File(value=None, visible=False)
        if service.demo:
            return hidden, common.error_box("This public demo is read-only.")
        if not run:
            return hidden, common.error_box("Choose a run first.")
        if not (space or "").strip():
            return hidden, common.error_box("Enter a Space name (your-user/your-demo) first.")
        result, error = common.attempt("publish the demo", service.export_demo, run, title or "", space.strip(),
                                       token=(token or "").strip())
        if error:
            return hidden, common.error_box(error)
        download = gr.File(value=result["zip"], visible=True)
        if result["publish_error"]:
            return download, common.error_box(
                f"{result['publish_error']}. The demo folder of {run} is written; download it below.")
        return download, common.info_box(f"Published {run} as {result['space_url']} (the Space builds in a "
                                         "few minutes).")

    def compare(chosen, x_axis):
        import pandas as pd

        result, error = common.attempt("compare the runs", service.compare_runs, list(chosen or []),
                                       x_axis or "step")
        if error:
            empty = common.points_frame([], COMPARE_SLOTS, "x")
            no_points = common.legend_html(empty, COMPARE_SLOTS, ("", ""))
            return [empty, no_points, empty, no_points, None, None, common.error_box(error)]
        names = {s["slot"]: f"{s['slot']}: {s['run']}" for s in result["slots"]}
        metric_names = {s["slot"]: f"{s['slot']}: {s['run']} ({s['metric']})" for s in result["slots"]}
        loss = common.points_frame(result["loss"], COMPARE_SLOTS, "x")
        metric = common.points_frame(result["metric"], COMPARE_SLOTS, "x")
        config = pd.DataFrame(result["config_diff"], columns=["setting"] + [s["run"] for s in result["slots"]])
        note = "" if result["config_diff"] else common.info_box("The runs' settings are the same.")
        return [loss, common.legend_html(loss, COMPARE_SLOTS, (result["x_title"], "loss"), names),
                metric, common.legend_html(metric, COMPARE_SLOTS, (result["x_title"], "value"), metric_names),
                pd.DataFrame(result["finals"]).dropna(axis=1, how="all"), config, note]

    # ------------------------------------------------------------------ wiring

    list_outputs = [c["table"], c["run"]]
    c["refresh"].click(listing, [c["run"]], list_outputs, api_name="runs_list")
    c["table"].select(select_row, [c["table"]], [c["run"]], api_visibility="private").then(
        status, [c["run"]], status_outputs, api_visibility="private")
    c["timer"].tick(tick, [c["run"], c["seen"]], list_outputs + status_outputs + [c["seen"]],
                    api_visibility="private", concurrency_limit=None, trigger_mode="once")
    panel.wire(c)
    panel.deleted.then(listing, [c["run"]], list_outputs, api_visibility="private").then(
        status, [c["run"]], status_outputs, api_visibility="private")

    c["compare_button"].click(compare, [c["compare_runs"], c["compare_x"]], [c[k] for k in COMPARE_KEYS],
                              api_name="runs_compare")
    # The runs offered for comparison follow the table (which follows the runs folder).
    c["table"].change(lambda table: gr.Dropdown(choices=[str(r) for r in table["run"]] if table is not None
                                                and "run" in table else []),
                      [c["table"]], [c["compare_runs"]], api_visibility="private")
    c["export_demo"].click(export_demo, [c["run"], c["demo_title"]], [c["demo_zip"], c["publish_message"]],
                           api_name="run_export_demo")
    c["publish_demo"].click(publish_demo, [c["run"], c["demo_title"], c["space_name"], c["hub_token"]],
                            [c["demo_zip"], c["publish_message"]], api_name="run_publish_demo")

    def on_load():
        """Show the newest running run (else the newest run) straight away."""
        rows = common.safe_list_runs(service)
        shown = common.newest_active(rows) or (common.run_choices(rows, with_state=True) or [("", "")])[0][1]
        return common.runs_frame(rows), gr.Dropdown(choices=common.run_choices(rows, with_state=True),
                                                    value=shown)

    c["load"] = [(on_load, None, list_outputs), (status, [c["run"]], status_outputs)]  # run by app.py
    return c
