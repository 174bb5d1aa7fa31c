"""One run panel for the fine-tuning, pre-training and runs tabs: the Run chooser, Stop / Resume
(/ Delete), the message and status lines, and the live view's poll.

A tab lays out its own charts and tables and gives the panel `view(state) -> {key: value}` for
them; the panel adds what every tab shows the same way (the status line, the saved-model note,
the status JSON, the buttons' states, the poll timer) and wires the handlers under the tab's API
names. A poll reads the run (the service reads only new events) and compares its signature
first: an unchanged run costs no rendering and sends nothing.
"""

from __future__ import annotations

from typing import Callable

import gradio as gr

from . import common


class RunPanel:
    """`task`: the runs the chooser offers ("finetune", "pretrain"; None = all). `api`: the API
    names of the status, stop, resume and delete endpoints. `keys`: the view's outputs in order;
    `view(state)` fills the tab's own keys. `model_note`: where a finished run's model is listed."""

    def __init__(self, service, task: str | None, *, api: dict[str, str], keys: list[str],
                 view: Callable[[dict | None], dict], model_note: str, stop_note: str):
        self.service, self.task, self.api, self.keys = service, task, api, keys
        self.view, self.model_note, self.stop_note = view, model_note, stop_note
        self.c: dict = {}

    # ------------------------------------------------------------------ layout

    def chooser(self, info: str = "", refresh: bool = False, delete: bool = False) -> dict:
        """The row: Run, (↻ Runs), Stop, Resume, (Delete)."""
        c, demo = self.c, self.service.demo
        with gr.Row():
            c["run"] = gr.Dropdown(choices=[], value="", allow_custom_value=True, label="Run", scale=4,
                                   **({"info": info} if info else {}))
            if refresh:
                c["refresh_runs"] = gr.Button("↻ Runs", size="sm", scale=1)
            c["stop"] = gr.Button("Stop", variant="stop", interactive=False, scale=1, visible=not demo)
            c["resume"] = gr.Button("Resume", interactive=False, scale=1, visible=not demo)
            if delete:
                c["delete"] = gr.Button("Delete", interactive=False, scale=1, visible=not demo)
        return c

    def message(self) -> gr.Markdown:
        self.c["message"] = gr.Markdown()
        return self.c["message"]

    def progress(self) -> gr.Markdown:
        self.c["progress"] = gr.Markdown(common.progress_markdown(None))
        return self.c["progress"]

    def timer(self) -> None:
        """The watched run's poll (the runs tab polls with its table's timer instead)."""
        self.c["timer"] = gr.Timer(common.POLL_S, active=False)
        self.c["signature"] = gr.State("")

    # ------------------------------------------------------------------ the view

    def read(self, run: str) -> tuple[dict | None, str | None]:
        if not run:
            return None, None
        return common.attempt("read the run", self.service.run_state, run)

    def render(self, state: dict | None, error: str | None = None) -> dict:
        """Every output of the panel for `state` (keyed as `keys`), plus "_signature"."""
        summary = (state or {}).get("summary") or {}
        active = summary.get("state") in common.ACTIVE
        editable = not self.service.demo and bool(state)
        progress = common.error_box(error) if error else common.progress_markdown(state)
        if summary.get("has_final") and not active and self.task in (None, summary.get("task")):
            progress += common.saved_model_note(summary, self.model_note)
        values = {"progress": progress, "latest": common.status_json(state),
                  "stop": gr.Button(interactive=editable and active),
                  "resume": gr.Button(interactive=editable and bool(summary.get("resumable"))),
                  "delete": gr.Button(interactive=editable and not active),
                  "timer": gr.Timer(active=active), "_signature": common.signature(state)}
        values.update(self.view(state))
        return values

    def values(self, run: str) -> dict:
        return self.render(*self.read(run))

    def status(self, run):
        values = self.values(run)
        return [values[k] for k in self.keys]

    def tick(self, run, seen):
        """Every poll: nothing is rendered or sent while the run's signature stays the same."""
        state, error = self.read(run)
        signature = common.signature(state)
        if signature and signature == seen and not error:
            skipped = [gr.skip()] * len(self.keys)
            if "timer" in self.keys:
                skipped[self.keys.index("timer")] = gr.Timer(active=(state or {}).get("summary", {}).get("state")
                                                             in common.ACTIVE)
            return skipped + [seen]
        values = self.render(state, error)
        return [values[k] for k in self.keys] + [values["_signature"]]

    # ------------------------------------------------------------------ buttons

    def _refused(self, run) -> str | None:
        if self.service.demo:
            return common.error_box("This public demo is read-only: runs cannot be stopped, resumed or deleted here.")
        if not run:
            return common.error_box("Choose a run first.")
        return None

    def stop(self, run):
        return self._act(run, "stop the run", self.service.stop_run,
                         f"Stop requested for {run}: it stops after the current step, {self.stop_note}")

    def resume(self, run):
        return self._act(run, "resume the run", self.service.resume_run,
                         f"Resuming {run} from its last complete checkpoint.", toast=True)

    def _act(self, run, what: str, fn, done: str, toast: bool = False):
        """Stop or Resume: the message, and the poll switched on once the run is moving."""
        refused = self._refused(run)
        if refused:
            return self._with_timer(refused, False)
        _, error = common.attempt(what, fn, run)
        if error:
            if toast:
                common.warn(error)
            return self._with_timer(common.error_box(error), False)
        return self._with_timer(common.info_box(done), True)

    def _with_timer(self, message: str, poll: bool):
        if "timer" not in self.c:
            return message
        return message, (gr.Timer(active=True) if poll else gr.update())

    def delete(self, run):
        """(message, run): the chooser is emptied once the run is gone."""
        if self.service.demo:
            return self._refused(run), gr.update()
        if not run:  # nothing chosen, or the confirmation was cancelled
            return "", gr.update()
        _, error = common.attempt("delete the run", self.service.delete_run, run)
        if error:
            common.warn(error)
            return common.error_box(error), gr.update()
        return common.info_box(f"Deleted {run} and its files."), ""

    def runs_dropdown(self, current=""):
        return gr.Dropdown(choices=common.run_choices(common.safe_list_runs(self.service), self.task),
                           value=current or "")

    def on_load(self):
        """A page opening re-attaches to the newest running or queued run of the panel's task."""
        rows = common.safe_list_runs(self.service)
        active = common.newest_active(rows, self.task)
        return (gr.Dropdown(choices=common.run_choices(rows, self.task), value=active),
                gr.Timer(active=bool(active)))

    # ------------------------------------------------------------------ wiring

    def outputs(self, c: dict) -> list:
        return [c[k] for k in self.keys]

    def wire(self, c: dict) -> list:
        """Status on picking a run (and the poll), Stop, Resume, Delete and ↻ Runs; returns the
        page-load steps for app.py (a panel with its own timer re-attaches to its task's newest
        active run)."""
        outputs, run = self.outputs(c), c["run"]
        # Status reads files only: many pages may poll at once.
        run.input(self.status, [run], outputs, api_name=self.api["status"], concurrency_limit=None)
        buttons_out = [c["message"]] + ([c["timer"]] if "timer" in self.c else [])
        for name in ("stop", "resume"):
            event = c[name].click(getattr(self, name), [run], buttons_out, api_name=self.api[name])
            event.then(self.status, [run], outputs, api_visibility="private")
        if "delete" in self.c:
            # Deleting removes the run's model and checkpoints: ask in the browser first.
            self.deleted = c["delete"].click(self.delete, [run], [c["message"], run], api_name=self.api["delete"],
                              js="(run) => (run && confirm(`Delete run ${run} with its model and checkpoints?`))"
                                 " ? run : ''")
        if "refresh_runs" in self.c:
            c["refresh_runs"].click(self.runs_dropdown, [run], [run], api_visibility="private")
        if "timer" not in self.c:
            return []
        c["timer"].tick(self.tick, [run, c["signature"]], outputs + [c["signature"]],
                        api_visibility="private", concurrency_limit=None, trigger_mode="once")
        return [(self.on_load, None, [run, c["timer"]]), (self.status, [run], outputs)]

    def started(self, run_path: str, notes: list[str] | None = None) -> list:
        """Start's outputs once the worker is launched (see common.started)."""
        return common.started(self.service, run_path, self.task, notes=notes)
