"""Helpers shared by the training tabs (fine-tuning, pre-training, runs): messages, the status line,
curves as pandas frames for gr.LinePlot, the runs table, number checks, and upload paths.

Everything here reads what `service.run_state` / `service.list_runs` return (the run folder's
status.json, events.jsonl, results.json, eval_latest.json); nothing imports torch.
"""

from __future__ import annotations

import html
import logging
import math
import re
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..errors import BadInput
# The charts' series (legend label -> event kind, key) live beside the event keys they read.
from ..training.events import FINETUNE_METRICS, LOSS_SERIES, PRETRAIN_LOSSES, PRETRAIN_METRICS, SUMMARY_METRICS

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
POLL_S = 1.5  # a watched run's view is at most 2 s old (the engine logs at least every 2 s)

DEMO_NOTE = ("**Training is switched off in this public demo.** Fine-tuning and pre-training run for "
             "minutes to hours and need the machine to themselves, so a shared demo cannot offer them to "
             "every visitor. Run bertlab on your own machine (`pip install -r requirements.txt && python "
             "app.py`) to train. Runs already on this server can still be watched below and in the Runs tab.")


def warn(message) -> None:
    """A pop-up warning. Gradio renders its text as HTML: escaped, so a model name or file value
    from a link or a file can never inject markup into a public page."""
    import gradio as gr

    gr.Warning(html.escape(hide_server_paths(message)))


def md_escape(text: str) -> str:
    """User or file text shown inside Markdown: no accidental emphasis, links, code spans or HTML."""
    text = html.escape(str(text), quote=False)
    for ch in "\\`*_[]#|~":
        text = text.replace(ch, "\\" + ch)
    return text



# ---------------------------------------------------------------------------------- messages

# A folder path in a message: absolute ("/tmp/gradio/1a2b/", "/root/bertlab-runs/x/data/train/"),
# not the middle of a URL or of a hub id ("user/model").
_FOLDERS = re.compile(r"(?<![\w.:/~-])/(?:[^\s/]+/)+")


def hide_server_paths(text) -> str:
    """`text` with the server's folders taken out of every file path, so a page shows the name of
    the file the user uploaded ("empty.csv"), never where the server keeps it (Gradio's upload
    cache, the runs folder, the project). Relative spellings of the runs folder go too."""
    from ..service import runs_root

    text = str(text)
    root = str(runs_root()).rstrip("/")
    if root and not root.startswith("/"):  # e.g. BERTLAB_RUNS=runs: "runs/<run>/data/train/x.csv"
        text = re.sub(r"(?<![\w./-])" + re.escape(root) + r"/(?:[^\s/]+/)*", "", text)
    return _FOLDERS.sub("", text)


def public_view(value):
    """A JSON-able value (a run's config, data summary) with server folders taken out of every
    string in it, for the page's JSON views."""
    if isinstance(value, dict):
        return {k: public_view(v) for k, v in value.items()}
    if isinstance(value, list):
        return [public_view(v) for v in value]
    return hide_server_paths(value) if isinstance(value, str) and "/" in value else value



def saved_model_note(summary: dict, where: str) -> str:
    """The line under a finished or stopped run that has a model: what it is and where it is
    listed (by run id, never a server path). A run stopped part-way says so, and that Resume
    continues it."""
    run = md_escape(summary.get("run") or "?")
    step, total = summary.get("step"), summary.get("total_steps")
    if summary.get("state") == "stopped" and step and total and step < total:
        return (f"  \n**Stopped at step {step} of {total}** ({step / total:.0%}). The model as it was then is saved "
                f"and listed as **{run}** {where}; **Resume** continues the run from step {step}.")
    return f"  \n**Done.** The model is saved and listed as **{run}** {where}."


def error_box(message: str) -> str:
    """A visible, escaped error line for a gr.Markdown (a message can carry a model name or a
    file's text: no HTML, links or code spans from it)."""
    return f"> ⚠️ **{md_escape(hide_server_paths(message))}**" if message else ""


def info_box(message: str) -> str:
    return f"> {md_escape(hide_server_paths(message))}" if message else ""


def attempt(what: str, fn: Callable, *args, **kwargs) -> tuple[Any, str | None]:
    """Call `fn`; return (result, None) or (None, message). A BadInput (the user can fix it) gives
    its own message; anything else is logged with its traceback and reported in one line, so the
    page keeps serving whatever went wrong."""
    try:
        return fn(*args, **kwargs), None
    except BadInput as exc:
        return None, str(exc)
    except Exception as exc:  # never let a handler crash the page
        log.exception("could not %s", what)
        return None, f"could not {what}: {type(exc).__name__}: {exc}"


def config_from_form(config, values: dict):
    """`config` with the form's values ({config key: value}) read as their fields' types (a number
    box's text too) and the whole checked (TrainConfig.validate); BadInput names the field by its
    label on the page."""
    from ..config import apply_overrides, check_value, field_of

    return apply_overrides(config, **{key: check_value(field_of(key), value, key) for key, value in values.items()}
                           ).validate()


def setting_number(defaults, key: str, **kwargs):
    """A gr.Number for a config setting: its label and value from the config (its bounds are checked
    on Start by config_from_form, with the field named)."""
    import gradio as gr

    from ..config import field_of

    f = field_of(key)
    section, _, name = key.rpartition(".")
    integer = (f.type if isinstance(f.type, str) else f.type.__name__) == "int"
    return gr.Number(value=getattr(getattr(defaults, section) if section else defaults, name),
                     label=f.metadata["label"], **({"precision": 0} if integer else {}), **kwargs)


# ---------------------------------------------------------------------------------- status line


def fmt_duration(seconds) -> str:
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        return "?"
    seconds = int(round(max(0.0, seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def last_event(events: list[dict], kind: str | None = None, key: str | None = None) -> dict:
    for event in reversed(events):
        if (kind is None or event.get("type") == kind) and (key is None or key in event):
            return event
    return {}


def progress_markdown(state: dict | None) -> str:
    """One status block: state, step / total with a bar, elapsed, ETA, speed, queue, message."""
    if not state:
        return "*No run selected. Start one above, or choose a run to watch.*"
    summary, status, events = state.get("summary", {}), state.get("status", {}), state.get("events", [])
    run, run_state = summary.get("run", "?"), summary.get("state") or status.get("state", "?")
    train = last_event(events, "train")
    step, total = summary.get("step") or 0, summary.get("total_steps") or train.get("total_steps")
    preset = ((state.get("config") or {}).get("pretrain") or {}).get("preset")
    preset = preset if summary.get("task") == "pretrain" else ""
    # Names come from files and users (a model name can hold a backtick or markup): escaped, no code spans.
    origin = f" · from scratch, preset {md_escape(preset)}" if preset else (
        f" · model {md_escape(summary['model'])}" if summary.get("model") else "")
    lines = [f"**Run** {md_escape(run)} · **{md_escape(run_state)}**{origin}"]
    if run_state == "queued":
        pos = summary.get("queue_position")
        lines.append("Waiting for the machine (one run trains at a time)"
                     + (f": position **{pos}** in the queue." if pos else "."))
    if total:
        frac = min(1.0, step / total)
        filled = int(round(frac * 24))
        lines.append(f"`{'█' * filled}{'░' * (24 - filled)}` step **{step} / {total}** ({frac:.0%})")
    elapsed = last_event(events, key="elapsed_s").get("elapsed_s")
    bits = []
    if elapsed is not None:
        bits.append(f"elapsed {fmt_duration(elapsed)}")
    if run_state == "running" and train.get("eta_s") is not None:
        bits.append(f"ETA {fmt_duration(train['eta_s'])}")
    if train.get("samples_per_s"):
        bits.append(f"{train['samples_per_s']:.1f} samples/s")
    if train.get("tokens_per_s"):
        bits.append(f"{train['tokens_per_s']:,.0f} tokens/s")
    if isinstance(train.get("loss"), (int, float)):
        bits.append(f"loss {train['loss']:.4f}")
    if bits:
        lines.append(" · ".join(bits))
    message = status.get("message") or summary.get("message") or ""
    if run_state in ("failed", "interrupted"):
        lines.append(error_box(message or run_state))
    elif message:
        lines.append(f"*{md_escape(hide_server_paths(message))}*")
    return "  \n".join(lines)


def status_json(state: dict | None) -> dict:
    """The machine-readable gist of a run (shown in a JSON box, and what API callers read). No key
    is called "path": gradio_client would take such a dict for a file and try to download it."""
    if not state:
        return {}
    summary, events = state.get("summary", {}), state.get("events", [])
    evaluation = last_event(events, "eval")
    return {"run": summary.get("run"), "task": summary.get("task"),
            "state": summary.get("state"),
            "message": hide_server_paths(state.get("status", {}).get("message", "")),
            "step": summary.get("step"), "total_steps": summary.get("total_steps"),
            "queue_position": summary.get("queue_position"), "has_final": summary.get("has_final"),
            "train": {k: v for k, v in last_event(events, "train").items() if k != "type"},
            "eval": {k: v for k, v in evaluation.items() if isinstance(v, (int, float)) and k != "type"},
            "results": {k: v for k, v in state.get("results", {}).items()
                        if isinstance(v, (int, float, str))}}


# ---------------------------------------------------------------------------------- curves


def curve_frame(events: list[dict], series: dict[str, tuple[str, str]], x: str = "step") -> pd.DataFrame:
    """Long-format points for gr.LinePlot(x="step", y="value", color="series").
    `series` maps a legend label to (event type, key), e.g. {"train loss": ("train", "loss")}.

    Every series is in the frame from the start, a series without points yet as one empty (NaN)
    row: Gradio 6.31 fixes a plot's colour scale from the first data it draws and later updates
    only swap the data, so a series that appeared later (the validation loss after the first
    evaluation) would never be drawn."""
    rows = []
    for event in events:
        if x not in event:
            continue
        for label, (kind, key) in series.items():
            value = event.get(key)
            if event.get("type") == kind and isinstance(value, (int, float)) and math.isfinite(value):
                rows.append((float(event[x]), float(value), label))
    return points_frame(rows, series, x)


def points_frame(rows: list[tuple], series, x: str = "step") -> pd.DataFrame:
    """(x, value, series label) points as a chart's long-format frame: every series present (an empty
    one as a NaN row), a single point drawn as a short dash, series in `series` order."""
    rows = list(rows)
    present = {label for _, _, label in rows}
    rows += [(math.nan, math.nan, label) for label in series if label not in present]
    rows += _dashes_for_single_points(rows)
    # Rows grouped by series in `series` order: the plot assigns colours in order of appearance,
    # so each series keeps its colour whenever the chart is redrawn.
    order = {label: i for i, label in enumerate(series)}
    rows.sort(key=lambda row: order[row[2]])  # stable: steps stay in order within a series
    frame = pd.DataFrame(rows, columns=[x, "value", "series"])
    return frame.astype({x: float, "value": float, "series": str})


def _dashes_for_single_points(rows: list[tuple]) -> list[tuple]:
    """A line needs two points: a series with one (the first evaluation) would not be drawn at all.
    Such a point gets a short flat dash to its right, 3% of the chart's step range long; the
    value is the one logged, only the dash's end lies a little past the step."""
    finite = [r for r in rows if math.isfinite(r[0])]
    if not finite:
        return []
    span = max(r[0] for r in finite) - min(r[0] for r in finite)
    length = max(0.5, 0.03 * span)
    counts: dict[str, list[tuple]] = {}
    for r in finite:
        counts.setdefault(r[2], []).append(r)
    return [(points[0][0] + length, points[0][1], label) for label, points in counts.items() if len(points) == 1]


def loss_frame(events: list[dict], task: str) -> pd.DataFrame:
    return curve_frame(events, PRETRAIN_LOSSES if task == "pretrain" else LOSS_SERIES)


def metrics_frame(events: list[dict], task: str) -> pd.DataFrame:
    return curve_frame(events, PRETRAIN_METRICS if task == "pretrain" else FINETUNE_METRICS)


# Named colours, fixed per series (a series keeps its colour whichever others have points).
PALETTE = [("blue", "#4c78a8"), ("orange", "#f58518"), ("red", "#e45756"), ("teal", "#72b7b2"),
           ("green", "#54a24b"), ("yellow", "#eeca3b"), ("purple", "#b279a2"), ("pink", "#ff9da6"),
           ("brown", "#9d755d"), ("grey", "#bab0ac")]
# A fixed height: Gradio 6.31 sizes a chart from its container when it first draws it, and a chart
# first drawn in a hidden tab got no room for its axis title and clipped its tick labels ("0.70"
# showed as ".70"). The legend is ours, below the chart (see legend_html), so nothing is cut off.
PLOT_HEIGHT = 300


def series_colours(series) -> dict[str, tuple[str, str]]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}


def line_plot(label: str, y_title: str, series, x: str = "step", frame: pd.DataFrame | None = None, **kwargs):
    """(chart, legend): a gr.LinePlot for long-format frames with its series in fixed colours, and a
    gr.HTML legend under it that lists only the series that have points (legend_html). Gradio's
    own legend is off: its entries are fixed when the chart is first drawn, so it listed series
    that never get a point (NSP curves of an MLM-only run). Updates must send plain frames with the
    same series: an update that also changes a property (gr.LinePlot(value=..., prop=...)) makes
    Gradio 6.31 draw the previous value."""
    import gradio as gr

    names = list(series)
    colours = series_colours(names)
    frame = curve_frame([], series, x=x) if frame is None else frame
    # Axis titles are ours too, in the legend line: Gradio limits a title to 80% of the chart's
    # height when first drawn, and a chart first drawn hidden squashed or lost them (" " = none).
    with gr.Column(min_width=320):
        plot = gr.LinePlot(value=frame, x=x, y="value", color="series", label=label, x_title=" ", y_title=" ",
                           colors_in_legend=[], color_map={n: c[1] for n, c in colours.items()},
                           height=PLOT_HEIGHT, **kwargs)
        legend = gr.HTML(legend_html(frame, names, axes=(x, y_title)), elem_classes=["plot-legend"])
    return plot, legend


def chart(key: str, frame: pd.DataFrame, series, y_title: str, x_title: str = "step") -> dict:
    """A chart's two outputs in a tab's status view: the frame and its legend line (see line_plot)."""
    return {key: frame, f"{key}_legend": legend_html(frame, series, (x_title, y_title))}


def legend_html(frame: pd.DataFrame, series, axes: tuple[str, str], labels: dict[str, str] | None = None) -> str:
    """The line under a chart: what its axes are, then a coloured line and the name of each series
    that has points (a series with none yet is left out); `labels` renames series (a slot's run)."""
    names = list(series)
    colours = series_colours(names)
    x_name, y_name = axes
    column = "value" if "value" in frame.columns else frame.columns[1]
    present = set(frame.loc[frame[column].notna(), "series"]) if len(frame) else set()
    shown = [n for n in names if n in present]
    axes_text = (f"<span style='color:#666;margin-right:14px'><b>{html.escape(y_name)}</b> by "
                 f"<b>{html.escape(x_name)}</b></span>")
    if not shown:
        return (f"<div style='font-size:0.85em;padding:2px 8px'>{axes_text}"
                "<span style='color:#888'>no points yet</span></div>")
    chips = "".join(
        f"<span class='legend-entry' style='display:inline-flex;align-items:center;margin:0 12px 2px 0'>"
        f"<span style='display:inline-block;width:18px;height:3px;background:{colours[n][1]};margin-right:5px'>"
        f"</span>{html.escape((labels or {}).get(n, n))}</span>" for n in shown)
    return f"<div style='font-size:0.85em;padding:2px 8px;line-height:1.6'>{axes_text}{chips}</div>"


# ---------------------------------------------------------------------------------- runs


def _fmt(value, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


RUN_COLUMNS = ["run", "task", "state", "step", "loss", "metrics", "message"]


def runs_frame(rows: list[dict]) -> pd.DataFrame:
    """The runs table: one row per run folder, newest first."""
    table = []
    for r in rows:
        step = ""
        if r.get("step") or r.get("total_steps"):
            step = f"{r.get('step') or 0} / {r.get('total_steps') or '?'}"
        metrics = ", ".join(f"{name} {_fmt(r[key])}" for key, name in SUMMARY_METRICS
                            if isinstance(r.get(key), (int, float)))
        state = r.get("state") or "?"
        if state == "queued" and r.get("queue_position"):
            state = f"queued (#{r['queue_position']})"
        table.append([r.get("run", "?"), r.get("task", "?"), state, step, _fmt(r.get("loss")), metrics,
                      (r.get("message") or "")[:200]])
    return pd.DataFrame(table, columns=RUN_COLUMNS)


def _newest_first(rows: list[dict]) -> list[dict]:
    def created(row) -> float:  # a damaged status.json can hold anything there
        value = row.get("created")
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0

    return sorted(rows, key=lambda r: (created(r), str(r.get("run") or "")), reverse=True)


def run_choices(rows: list[dict], task: str | None = None, with_state: bool = False) -> list[tuple[str, str]]:
    """(label, run id) pairs for a dropdown, newest first. The state in a label goes stale unless
    the choices are refreshed as often as the runs change (the runs tab does)."""
    return [(f"{r['run']} · {r.get('state') or '?'}" if with_state else r["run"], r["run"])
            for r in _newest_first(rows) if task is None or r.get("task") == task]


def newest_active(rows: list[dict], task: str | None = None) -> str:
    """The newest running or queued run (of `task`), so a reloaded page re-attaches to it."""
    for r in _newest_first(rows):
        if r.get("state") in ACTIVE and (task is None or r.get("task") == task):
            return r["run"]
    return ""


def safe_list_runs(service) -> list[dict]:
    """service.list_runs() without folders that are not runs (state "unknown"), and [] on error."""
    rows, _ = attempt("list the runs", service.list_runs)
    return [r for r in rows or [] if r.get("state") != "unknown"]


def signature(state: dict | None) -> str:
    """Changes whenever anything shown about a run changes; the polling timer skips re-sending the
    whole view (and re-drawing the plots) while it stays the same."""
    if not state:
        return ""
    summary, events = state.get("summary", {}), state.get("events", [])
    return "|".join(str(x) for x in (summary.get("run"), summary.get("state"), summary.get("queue_position"),
                                     len(events), events[-1] if events else "", summary.get("has_final"),
                                     state.get("status", {}).get("message")))


# ---------------------------------------------------------------------------------- uploads


ACCELERATE_TYPES = [".yaml", ".yml", ".json"]


def accelerate_file(gr, label: str = "Accelerate config (optional)"):
    """The upload that starts a run under `accelerate launch --config_file` instead of as one process."""
    return gr.File(label=label, file_types=ACCELERATE_TYPES, file_count="single", type="filepath", height=90)


ACCELERATE_HELP = ("An **accelerate config** (the YAML `accelerate config` writes; examples in "
                   "`examples/accelerate/`) runs the job on several processes, GPUs or machines. "
                   "Leave it empty for one process on this machine.")


def upload_path(value) -> str:
    """The server-side path of a gr.File value (a str in filepath mode; tolerate dict-like values)."""
    if not value:
        return ""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("path") or value.get("name") or ""
    return str(getattr(value, "name", value) or "")


def check_upload_size(service, path: str) -> str:
    """`path`, or BadInput when the file is over the service's upload limit (small in demo mode)."""
    limit = getattr(service, "limits", {}).get("max_upload_bytes")
    try:
        size = Path(path).stat().st_size
    except OSError:
        return path  # the reader says clearly what is wrong with a missing file
    if limit and size > limit:
        raise BadInput(f"{Path(path).name} is {_size(size)}; uploads here are limited to {_size(limit)}")
    return path


def _size(n: int) -> str:
    return f"{n / 2 ** 20:.1f} MB" if n >= 2 ** 20 else f"{n / 1024:.1f} KB"


def estimate_markdown(estimate: dict | None) -> str:
    """The pre-flight estimate in one line (nothing if there is none)."""
    if not estimate:
        return ""
    seconds = estimate.get("estimated_seconds")
    # "≈", not "~": Markdown reads a pair of tildes as strike-through.
    parts = [f"**Estimate on this machine:** about **{fmt_duration(seconds)}**"]
    if estimate.get("estimated_memory_mb") is not None:
        parts.append(f"≈{estimate['estimated_memory_mb']:,.0f} MB of memory")
    if estimate.get("steps") is not None:
        parts.append(f"{estimate['steps']:,} steps")
    if estimate.get("examples") is not None:
        parts.append(f"{estimate['examples']:,} training examples of "
                     f"≈{estimate.get('tokens_per_example', '?')} tokens")
    if estimate.get("parameters"):
        parts.append(f"{estimate['parameters'] / 1e6:.1f} M parameters")
    note = str(estimate.get("note") or "").replace("~", "≈")
    note = f"  \n*{html.escape(note, quote=False)}*" if note else ""
    return " · ".join(parts) + note


# ------------------------------------------------------------------ run controls shared by the tabs


def start_failed(exc: Exception, what: str) -> list:
    """The message a training tab shows when its Start could not launch the run (the service has
    removed the run folder it made). A BadInput is the user's to fix: a toast too."""
    if isinstance(exc, BadInput):
        warn(exc)
        return [error_box(str(exc))]
    log.exception("starting a %s run failed", what)
    return [error_box(f"could not start the run: {type(exc).__name__}: {exc}")]


def started(service, run_path: str, task: str, notes: list[str] | None = None) -> list:
    """Start's outputs once the worker is launched: the message (with any warnings about the data,
    such as a validation set too small to trust), the Run dropdown set to the new run (so the view
    follows it) and the poll timer switched on."""
    import gradio as gr

    run = run_path.rstrip("/").split("/")[-1]
    choices = run_choices(safe_list_runs(service), task)
    message = info_box(f"Started run {run}. It trains in its own process: closing this page does not stop it.")
    message += "".join(f"  \n> ⚠️ {md_escape(hide_server_paths(note))}" for note in notes or [])
    return [message, gr.Dropdown(choices=choices, value=run), gr.Timer(active=True)]
