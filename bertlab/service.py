"""The small facade the web page talks to.

The UI layer (app.py, bertlab/ui/) calls only this object. It imports the model code lazily (so
building the page does not import torch), keeps a bounded LRU of loaded models, and starts
training runs in worker processes through bertlab.training.runs; it never trains in the web process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

# Also for the page (which imports nothing else of the backend): the model name that means "the
# default for the text's language", and where runs live (to keep server folders out of messages).
# Neither module imports torch.
from .modeling.registry import AUTO
from .training.run_folder import runs_root
# The torch-free renderers and constants of the views the page shows (attention maps, explanations,
# the comparison's chart slots), so the page needs no other door into the backend.
from .inference.attention import enlarged_html, thumbnail  # noqa: F401
from .training.compare import MAX_RUNS as MAX_COMPARED, SLOTS as COMPARE_SLOTS  # noqa: F401
from .inference.explain import heat_strip_html  # noqa: F401

# How many runs' events the service keeps read (for pages polling them): each is parsed once.
EVENT_READERS = 32


# transformers imports its classes lazily, and that first import is not safe from two threads at
# once: a page opening fired the tokenization tab's first answer while the fill-mask model warmed
# up, and one of them failed with "cannot import name 'AutoTokenizer'". So the classes bertlab
# loads with are imported once, by one thread, before any load; loads themselves then run in
# parallel (a tokenizer does not wait for a model).
_IMPORTING = threading.Lock()
_imported = False
# Models load one at a time: from_pretrained builds a model on the meta device and then fills in
# its weights, through context managers that patch torch globally, so a second model built in
# another thread at that moment came out with meta tensors ("Tensor on device meta is not on the
# expected device cpu!" from the server's warm-up racing a first classification). Tokenizers
# build no modules and load in parallel.
_MODEL_LOADING = threading.Lock()
_LOAD_CLASSES = ("AutoConfig", "AutoTokenizer", "PreTrainedTokenizerFast", "BertTokenizerFast", "AutoModel",
                 "AutoModelForMaskedLM", "AutoModelForPreTraining", "AutoModelForSequenceClassification",
                 "BertConfig", "BertModel", "BertForMaskedLM", "BertForPreTraining", "BertForSequenceClassification")


def _import_transformers_once() -> None:
    global _imported
    if _imported:
        return
    with _IMPORTING:
        if not _imported:
            import transformers

            for name in _LOAD_CLASSES:
                getattr(transformers, name)
            _imported = True


def _models_signature(root) -> str:
    """Changes when a finished model may have appeared in or left the runs folder or the hub cache:
    the names of the run folders with a final/ model and the time final/ was written, and the
    hub cache folder's modification time. A few stat calls, no file contents."""
    import os

    parts = []
    try:
        with os.scandir(root) as entries:
            for entry in entries:
                try:
                    parts.append(f"{entry.name}:{os.stat(os.path.join(entry.path, 'final', 'config.json')).st_mtime_ns}")
                except OSError:
                    continue
    except OSError:
        pass
    try:
        from huggingface_hub import constants

        parts.append(f"hub:{os.stat(constants.HF_HUB_CACHE).st_mtime_ns}")
    except (ImportError, OSError, AttributeError):
        pass
    return "models|" + "|".join(sorted(parts))  # never "" (the page's initial state)


class Service:
    def __init__(self, max_models: int = 4, demo: bool = False, limits: dict[str, int] | None = None):
        self.max_models = max_models
        self.demo = demo
        # Caps that apply in public demo mode (and sane ones otherwise).
        self.limits = {"max_text_chars": 2000 if demo else 20000,
                       "max_upload_bytes": (2 if demo else 200) * 1024 * 1024}
        self.limits.update(limits or {})
        self._models: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._load_locks: dict[tuple[str, str], threading.Lock] = {}
        # Whether the page may publish with the server's own Hugging Face login (HF_TOKEN or a stored
        # login) when no token is typed: set by app.serve for a page bound to loopback without a
        # share link; off otherwise, so a shared page never lends the owner's account.
        self.hub_login_allowed = False
        # run folder -> (lock, EventReader): each poll of a watched run parses only its new events.
        self._event_readers: OrderedDict[str, tuple[threading.Lock, Any]] = OrderedDict()

    # ---------------------------------------------------------------- models

    def model(self, name: str | None, head: str, task: str, exported_ok: bool = False):
        """A loaded model (bertlab.modeling.registry.LoadedModel), from the LRU or loaded now.

        exported_ok: answering is all the caller does (fill-mask, classification), so an ONNX
        export of this exact model that was checked against PyTorch before may stand in for it,
        without importing torch or reading the weights (fast_inference.load_checked). Attention
        maps and explanations need the PyTorch model and leave it False."""
        from .inference import fast_inference
        from .modeling import registry

        source = registry.resolve(name, task)
        ident = source.name if source.kind == "default" else source.path
        keys = [(ident, head, "exported"), (ident, head)] if exported_ok else [(ident, head)]
        with self._lock:
            for key in keys:
                if key in self._models:
                    self._models.move_to_end(key)
                    return self._models[key]
            load_lock = self._load_locks.setdefault((ident, head), threading.Lock())
        with load_lock:  # two requests for the same model load it once
            with self._lock:
                for key in keys:
                    if key in self._models:
                        return self._models[key]
            loaded = fast_inference.load_checked(source, head) if exported_ok else None
            if loaded is None:
                keys = keys[-1:]
                _import_transformers_once()
                with _MODEL_LOADING:
                    loaded = registry.load_model(name, head=head, task=task,
                                                 device=registry.inference_device())
            with self._lock:
                self._models[keys[0]] = loaded
                while len(self._models) > self.max_models:
                    self._models.popitem(last=False)
            return loaded

    def warm_up(self, name: str = "default") -> None:
        """Load a fill-mask model and answer one sentence with it, so the first real answer pays
        neither the load nor the first call's allocations; the answer also starts the model's fast
        path (bertlab.inference.fast_inference) in the background."""
        from .inference.fill_mask import fill_mask

        loaded = self.model(name, "masked-lm", "fill-mask", exported_ok=True)
        fill_mask(f"a {loaded.tokenizer.mask_token} .", loaded, top_k=1)

    def tokenizer(self, name: str | None, task: str = "tokenize"):
        from .modeling import registry

        source = registry.resolve(name, task)
        ident = source.name if source.kind == "default" else source.path
        key = (ident, "tokenizer")
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            # A loaded model of the same source has this very tokenizer: no second load (and,
            # beside an answer from a checked export, no torch import for AutoTokenizer).
            for loaded_key, loaded in self._models.items():
                if loaded_key[0] == ident and isinstance(loaded, registry.LoadedModel):
                    return loaded.tokenizer
        _import_transformers_once()
        tok = registry.load_tokenizer(name, task)
        with self._lock:
            self._models[key] = tok
            while len(self._models) > self.max_models:
                self._models.popitem(last=False)
        return tok

    def list_models(self, task: str | None = None) -> list[dict[str, Any]]:
        from .modeling import registry

        return registry.list_models(task)

    def model_choices(self, task: str) -> list[str]:
        return [row["name"] for row in self.list_models(task)]

    def model_lists(self, tasks) -> tuple[str, dict[str, list[str]]]:
        """(signature, {task: model names}) for the page's model lists, which follow the runs
        folder by themselves: every open page asks every few seconds. Listing reads weight headers,
        so it is redone only when the signature (the runs folder's finished models and the hub
        cache's folders, by name and time) has changed since the last call."""
        from .modeling import registry

        signature = _models_signature(registry.runs_root())
        with self._lock:
            cached = getattr(self, "_model_lists", None)
            if cached and cached[0] == signature and set(tasks) <= set(cached[1]):
                return cached
        rows = registry.list_models()
        lists = {task: [r["name"] for r in rows if registry.usable_for(r, task)] for task in tasks}
        with self._lock:
            self._model_lists = (signature, lists)
        return signature, lists

    def describe(self, name: str | None, task: str = "fill-mask") -> dict[str, Any]:
        from .modeling import registry

        self.check_model(name, task)  # in a demo: no probing of server paths through descriptions
        return registry.describe(name, task).to_dict()

    # ---------------------------------------------------------------- inference

    def fill_mask(self, text: str, model: str | None = None, **kwargs) -> dict[str, Any]:
        """No model (or "auto"): the default for the text's language; the answer's "model" says
        which one answered, and a model that cannot read Chinese text adds a hint naming one that can."""
        from .inference.fill_mask import fill_mask
        from .modeling.registry import default_for, with_language_hint

        self.check_text(text)
        self.check_model(model, "fill-mask")
        loaded = self.model(default_for("fill-mask", text, model), "masked-lm", "fill-mask", exported_ok=True)
        return with_language_hint(fill_mask(text, loaded, **kwargs), loaded.tokenizer, text, "fill-mask")

    def classify(self, text: str, pair: str | None = None, model: str | None = None) -> dict[str, Any]:
        from .inference.classify import classify
        from .modeling.registry import default_for, with_language_hint

        self.check_text(text, pair)
        self.check_model(model, "classify")
        loaded = self.model(default_for("classify", text, model), "classification", "classify", exported_ok=True)
        return with_language_hint(classify(text, loaded, pair=pair), loaded.tokenizer, text, "classify")

    def attention(self, text: str, pair: str | None = None, model: str | None = None,
                  task: str = "fill-mask") -> dict[str, Any]:
        """Every layer's and head's attention on the text (bertlab.inference.attention), with the model the
        task would answer with (a masked-LM for fill-mask, a classifier for classify)."""
        from .inference.attention import attention_maps
        from .modeling.registry import default_for

        self.check_text(text, pair)
        self.check_model(model, task)
        head = "masked-lm" if task == "fill-mask" else "classification"
        loaded = self.model(default_for(task, text, model), head, task)
        return attention_maps(text, loaded, pair=pair)

    def explain(self, text: str, pair: str | None = None, model: str | None = None,
                target: str | None = None) -> dict[str, Any]:
        """Which words made the classifier's answer (bertlab.inference.explain: integrated gradients)."""
        from .inference.explain import explain
        from .modeling.registry import default_for

        self.check_text(text, pair)
        self.check_model(model, "classify")
        loaded = self.model(default_for("classify", text, model), "classification", "classify")
        return explain(text, loaded, pair=pair, target=target or None)

    def classify_file(self, path: str, model: str | None = None, text_column: str = "",
                      text_pair_column: str = "-", output: str | None = None) -> dict[str, Any]:
        """Every row of a file classified; no model (or "auto") picks the default for the language of
        the file's texts."""
        from .inference.classify import classify_table
        from .data.labeled import read_to_classify
        from .modeling.registry import default_for

        self.check_model(model, "classify")
        found = read_to_classify(path, text_column, text_pair_column)
        name = default_for("classify", "\n".join(found.texts[:200]), model)
        return classify_table(found, self.model(name, "classification", "classify", exported_ok=True), output)

    def tokenize(self, text: str, pair: str | None = None, model: str | None = None, **kwargs) -> dict[str, Any]:
        from .data.tokenization import tokenize_view

        self.check_text(text, pair)
        self.check_model(model, "tokenize")
        return tokenize_view(text, pair=pair, tokenizer=self.tokenizer(model, "tokenize"), **kwargs)

    def check_text(self, *texts: str | None) -> None:
        from .errors import BadInput

        for text in texts:
            if text is None:
                continue
            if not isinstance(text, str):
                raise BadInput("the text must be a string")
            if len(text) > self.limits["max_text_chars"]:
                raise BadInput(f"text is {len(text)} characters; the limit here is {self.limits['max_text_chars']}")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise BadInput(f"the text holds an invalid character (a lone surrogate) at position {exc.start}") from None

    def check_model(self, name: str | None, task: str) -> None:
        """In a public demo only the listed models may be used: no arbitrary local folders or hub
        downloads on a stranger's request."""
        from .errors import BadInput

        if self.demo and name and name != AUTO and name not in self.model_choices(task):
            raise BadInput(f"model {name!r} is not offered in this demo; choose one from the list")

    def _run_folder(self, run: str) -> str:
        """Runs are named by their id, a folder directly under the runs root: a path or `..` from
        the page is refused, so nothing outside the runs folder is read, zipped or deleted."""
        from pathlib import Path

        from .errors import BadInput

        name = str(run or "").strip()
        if name and Path(name).is_absolute() and Path(name).resolve().parent == runs_root().resolve():
            name = Path(name).name  # a run folder path as start_run returned it
        if not name or name != Path(name).name or name.startswith(".") or "\\" in name:
            raise BadInput(f"{name!r} is not a run id (runs are named by their folder under the runs folder)")
        folder = runs_root() / name
        if not folder.is_dir():
            raise BadInput(f"run {name!r} not found")
        return str(folder)

    # ---------------------------------------------------------------- runs

    def start_run(self, config, uploads=()) -> str:
        """Make the run folder, copy into it the files of `config` that are in `uploads` (the page's
        upload cache: data/train, data/validation, data/corpusN, data/accelerate), and launch the
        worker; returns the run folder. On any failure the folder is removed again."""
        from .training import runs
        from .training.launch import check_accelerate_config
        from .training.run_folder import RunFolder

        self._refuse_training_in_demo()
        if config.accelerate_config:
            check_accelerate_config(config.accelerate_config)  # before any folder exists
        uploads = {str(u) for u in uploads if u}
        folder = RunFolder.create(config.task, config.out)
        try:
            stage = lambda path, role: folder.stage(path, role) if path in uploads else path
            config.finetune.train = stage(config.finetune.train, "train")
            config.finetune.validation = stage(config.finetune.validation, "validation")
            staged = [p for p in config.pretrain.corpus if p in uploads]
            config.pretrain.corpus = [stage(p, f"corpus{staged.index(p) + 1}") if p in uploads else p
                                      for p in config.pretrain.corpus]
            config.accelerate_config = stage(config.accelerate_config, "accelerate")
            return runs.start_run(config, folder=folder)
        except BaseException:
            folder.delete()
            raise

    def check_finetune_data(self, config) -> dict[str, Any]:
        """The fine-tuning data read as the run would read it (bertlab.training.tasks.classification), before
        any run folder exists: a file that cannot train raises BadInput/DataError naming the file,
        row and column, so Start refuses it instead of creating a run that fails at once. Returns
        the sizes, labels and small-data notes for the page."""
        from .training.tasks.classification import load_finetune_data, small_data_notes

        self._refuse_training_in_demo()
        train, validation = load_finetune_data(config)
        return {"train_examples": len(train), "validation_examples": len(validation),
                "labels": train.label_names, "notes": small_data_notes(config, len(train), len(validation))}

    def check_corpus(self, paths: list[str]) -> None:
        """Every corpus file readable as text, before any run folder exists (bertlab.data.corpus)."""
        from .data.corpus import check_corpus_files

        self._refuse_training_in_demo()
        check_corpus_files(paths)

    def compare_runs(self, run_ids: list[str], x: str = "step") -> dict[str, Any]:
        """Runs side by side (bertlab.training.compare): curves per run, differing settings, final figures."""
        from .training.compare import compare_runs

        return compare_runs([self._run_folder(r) for r in run_ids or []], x=x)

    def list_runs(self) -> list[dict[str, Any]]:
        from .training import runs

        return runs.list_runs()

    def run_state(self, run: str, tail: int = 2000) -> dict[str, Any]:
        """Everything a page shows of a run. The events are read incrementally: the service keeps a
        reader per watched run, so a poll parses only what the engine appended since the last one."""
        from .training import runs
        from .training.run_folder import RunFolder

        folder = self._run_folder(run)
        with self._lock:
            if folder not in self._event_readers:
                self._event_readers[folder] = (threading.Lock(), RunFolder(folder).event_reader())
                while len(self._event_readers) > EVENT_READERS:
                    self._event_readers.popitem(last=False)
            self._event_readers.move_to_end(folder)
            lock, reader = self._event_readers[folder]
        with lock:
            return runs.run_state(folder, tail=tail, reader=reader)

    def resume_run(self, run: str) -> str:
        from .errors import BadInput
        from .training import runs

        if self.demo:
            raise BadInput("training is switched off in this public demo")
        return runs.resume_run(self._run_folder(run))

    def preview_labeled(self, path: str, n: int = 8) -> dict[str, Any]:
        """First rows and the detected columns of a labeled file (see bertlab.data.labeled.preview)."""
        from .data.labeled import preview

        return preview(path, n=n)

    def preview_pretraining(self, config) -> dict[str, Any]:
        """A sample batch: which tokens became [MASK] / random / kept, and NSP pairs with labels."""
        from .training.tasks.pretraining import preview_batch

        self._refuse_training_in_demo()  # it reads corpus files and models named by the request
        return preview_batch(config)

    def estimate(self, config) -> dict[str, Any]:
        """Pre-flight estimate of time and memory for a run on this machine."""
        from .training.estimate import estimate_run

        self._refuse_training_in_demo()
        return estimate_run(config)

    def _refuse_training_in_demo(self) -> None:
        from .errors import BadInput

        if self.demo:
            raise BadInput("training is switched off in this public demo")

    def example_files(self) -> dict[str, str]:
        """Example data shipped in examples/: name -> path."""
        from .data.examples import example_files

        return example_files()

    def model_zip(self, run: str) -> str:
        """A zip of a finished run's final/ folder, for download; returns its path."""
        from .training import runs

        return runs.zip_final(self._run_folder(run))

    def stop_run(self, run: str) -> None:
        from .training import runs

        runs.request_stop(self._run_folder(run))

    def delete_run(self, run: str) -> None:
        from .training import runs

        runs.delete_run(self._run_folder(run))

    # ---------------------------------------------------------------- compression

    def compression_report(self, run: str) -> dict[str, Any] | None:
        """The run's ONNX/int8 export report (RUN/export/export.json), or None before an export."""
        from .inference.compress import report

        return report(self._run_folder(run))

    def export_onnx(self, run: str, timeout: float = 1800) -> dict[str, Any]:
        """Export a finished fine-tuning run to ONNX and int8 and measure each form (bertlab.inference.compress),
        in a child process: the exporter traces the model and patches torch while it does, which must
        not happen beside live requests in this process. Refused in a public demo (it writes on the server)."""
        import json
        import subprocess
        import sys

        from .errors import BadInput
        from .training.launch import project_env

        self._refuse_training_in_demo()
        folder = self._run_folder(run)
        proc = subprocess.run([sys.executable, "-m", "bertlab", "export-onnx", folder, "--json"],
                              capture_output=True, text=True, timeout=timeout, env=project_env())
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise BadInput(last.removeprefix("error: ")[:400])
        return json.loads(proc.stdout.strip().splitlines()[-1])

    # ---------------------------------------------------------------- sharing

    def export_demo(self, run: str, title: str = "", push_to_hub_name: str = "", token: str = "") -> dict[str, Any]:
        """Write a finished run as a stand-alone demo (RUN/demo/: app.py, model, pinned requirements,
        a README a Hugging Face Space reads) and zip it for download; with a Space name, also upload
        it (bertlab.publish). Returns the export's summary with "zip", "space_url" and
        "publish_error" (a failed upload still leaves the folder and the zip). Refused in a public
        demo: it writes on the server and would publish with the server's own hub login."""
        from .errors import BadInput
        from .publish import export_for_page

        if self.demo:
            raise BadInput("publishing runs is switched off in this public demo")
        # Without a token typed on the page, only a page served to this machine alone may publish
        # with the server's own hub login (app.serve sets hub_login_allowed); on a shared page every
        # logged-in collaborator would otherwise publish under the owner's account.
        return export_for_page(self._run_folder(run), title=title or "", space=push_to_hub_name or "",
                               token=token or None, allow_stored_login=self.hub_login_allowed)
