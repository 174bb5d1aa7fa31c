"""The Runs tab's compression panel: a finished fine-tuning run as ONNX and int8, measured.

One accordion, built by `create_panel(service, run)` under the run picker it follows. Wiring only
over `service.compression_report` (RUN/export/export.json, read when a run is picked) and
`service.export_onnx` (writes RUN/export/ in a child process; `python -m bertlab export-onnx RUN`
does the same). API name (gradio_client): run_export_onnx. Hidden in public demo mode.
"""

from __future__ import annotations

import gradio as gr

from . import common

ABOUT = """\
Export this fine-tuned classifier to **ONNX** and to **int8** (dynamic quantization) and see what
each form costs and gives next to the PyTorch model: size on disk, p50 latency of one sentence and
accuracy / F1 on the run's validation data. The files (in the run's `export/` folder) run with
`onnxruntime` and `tokenizers` alone; `python -m bertlab export-onnx RUN` does the same from the
command line. An export takes a minute or two on a small CPU.
"""
COLUMNS = ["form", "size on disk (MB)", "p50 latency (ms)", "accuracy", "F1", "same label as PyTorch"]


def report_frame(report: dict | None):
    """export.json as the panel's table (one row per form); an empty table before any export."""
    import pandas as pd

    rows = []
    for form in (report or {}).get("forms", []):
        rows.append([form.get("title", form["form"]), form.get("size_mb"), form.get("p50_ms"),
                     form.get("accuracy"), form.get("f1"), f"{form.get('agreement_with_pytorch', 0):.1%}"])
    return pd.DataFrame(rows, columns=COLUMNS)


def report_note(report: dict | None) -> str:
    if not report:
        return ""
    text = (f"Exported {report.get('written', '')}: validation on {report.get('validation_rows', 0)} rows; "
            f"latency {report.get('latency', '')}.")
    if report.get("note"):
        text += f" {report['note']}"
    return common.info_box(text)


def create_panel(service, run: gr.components.Component) -> dict:
    c: dict = {}
    with gr.Accordion("Compress: ONNX and int8", open=False, visible=not service.demo) as c["compress_panel"]:
        gr.Markdown(ABOUT)
        c["export_onnx"] = gr.Button("Export to ONNX and int8, and measure")
        c["compress_table"] = gr.Dataframe(value=report_frame(None), interactive=False, wrap=True,
                                           label="Each form beside PyTorch")
        c["compress_message"] = gr.Markdown()

    def show(run_id):
        """The run's last export, if any (a file read; nothing runs)."""
        if not run_id or service.demo:
            return report_frame(None), ""
        report, error = common.attempt("read the export report", service.compression_report, run_id)
        return report_frame(report), ("" if error else report_note(report))

    def export(run_id):
        if service.demo:
            yield gr.skip(), common.error_box("This public demo is read-only.")
            return
        if not run_id:
            yield gr.skip(), common.error_box("Choose a finished fine-tuning run first.")
            return
        yield gr.skip(), common.info_box(f"Exporting {run_id} and measuring each form ...")
        report, error = common.attempt("export the run", service.export_onnx, run_id)
        if error:
            yield gr.skip(), common.error_box(error)
            return
        yield report_frame(report), report_note(report)

    outputs = [c["compress_table"], c["compress_message"]]
    run.change(show, [run], outputs, api_visibility="private")
    c["export_onnx"].click(export, [run], outputs, api_name="run_export_onnx")
    return c
