"""Publishing a run as its own small demo: a folder that outlives the page and its share link.

`export_demo(run, out)` writes a self-contained folder from a finished run:

    out/
      app.py            the one-model Gradio page (bertlab/assets/demo_app/app.py, copied as it is)
      demo.json         what that page shows: task, title, examples, the model card
      model/            the run's final/ (save_pretrained: weights, tokenizer, config, card)
      requirements.txt  the packages app.py imports, pinned to the versions installed here
      README.md         front matter a Hugging Face Space reads (sdk: gradio, app_file: app.py, ...)

The folder needs no bertlab: `pip install -r requirements.txt && python app.py` runs it anywhere,
and uploading it as a Space (`push_to_hub`, or `gradio deploy` / `hf upload` by hand) makes it a
permanent public demo. A fine-tuning run gives a classification page, a pre-training run a
fill-mask page; both answer as bertlab's own classify / fill-mask do for the same model.

Tokens: `push_to_hub` takes the Hugging Face token from its argument, HF_TOKEN or the stored login
(`huggingface_hub.get_token()`); it is passed to the hub client only, never printed, logged or
written, and scrubbed from any error message that comes back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from .errors import BadInput

TEMPLATE = Path(__file__).resolve().parent / "assets" / "demo_app" / "app.py"
# What app.py imports, directly or as the libraries it calls need them. Training-only packages
# (accelerate, evaluate, jieba, scikit-learn) and the test tools stay out: the demo only predicts.
DEMO_PACKAGES = ["gradio", "gradio-client", "torch", "transformers", "tokenizers", "safetensors",
                 "huggingface-hub", "numpy"]
# PyPI's Linux torch wheel brings several GB of CUDA libraries; a Space's free hardware (and most
# hosts a small demo runs on) has no GPU, so requirements.txt asks for the CPU wheel. A GPU host
# deletes that line (README.md of the folder says so).
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
FILES = ("app.py", "demo.json", "requirements.txt", "README.md", "model")  # what an export writes
MAX_EXAMPLES = 6
EXAMPLE_CHARS = (12, 200)  # examples shown on the page: short enough to read at a glance
TASKS = {"finetune": "text-classification", "pretrain": "fill-mask"}
# A licence as the hub spells them (apache-2.0, cc-by-4.0, mit, other): it goes into YAML unquoted.
_LICENCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}")
# Two page requests exporting the same run would write the same RUN/demo/ at once.
_PAGE_LOCK = threading.Lock()


class PublishError(BadInput):
    """Uploading to the hub did not happen (offline, no token, refused). The message names the
    reason only, never a path or the token: the CLI adds where the folder is, the page the run id."""


# ------------------------------------------------------------------------------ the run


def _finished_run(run: str | Path) -> tuple[Path, dict[str, Any]]:
    """(run folder, run_config) of a run with a final model, or BadInput naming what is missing."""
    from .training.run_folder import RunFolder

    try:
        run_folder = RunFolder.find(run)
    except BadInput:
        raise BadInput(f"run {str(run)!r} not found (give a run id under the runs folder, or a run folder)") from None
    folder = run_folder.path
    config, problem = run_folder.config_dict()
    if problem:
        raise BadInput(f"{folder.name} is not a bertlab run folder ({problem})")
    if config.get("task") not in TASKS:
        raise BadInput(f"run {folder.name}: unknown task {config.get('task')!r}")
    state = run_folder.status().get("state")
    if state in ("running", "queued"):
        raise BadInput(f"run {folder.name} is {state}; export it once it has finished")
    if not (folder / "final" / "config.json").exists():
        raise BadInput(f"run {folder.name} has no final model (final/ is missing; the run is {state}): "
                       "only a finished run can be published")
    return folder, config


def _target(out: str | Path, force: bool) -> Path:
    """The output folder, refused when it holds anything unless `force` (then only the entries an
    export writes are replaced; other files stay)."""
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise BadInput(f"--out {out} exists and is not empty; choose a new folder or add --force to "
                       "replace the demo files in it")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create --out {out}: {exc.strerror or exc}") from None
    return out


# ------------------------------------------------------------------------------ cards and licence


_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*(\n|\Z)", re.S)
# An absolute path as cards and configs record them (/home/x/data/train.csv, C:\data\x.csv): the
# published card keeps only the file name, so a public page shows nothing of this machine.
_ABS_PATH = re.compile(r"(?<![\w/.:])(?:/|[A-Za-z]:\\)[^\s`'\"()<>,;]+")


def front_matter(text: str) -> dict[str, str]:
    """Top-level `key: value` pairs of a card's YAML front matter, as text (enough to read its
    `license:`); {} when there is none."""
    match = _FRONT.match(text or "")
    found: dict[str, str] = {}
    for line in (match.group(1).splitlines() if match else []):
        key, sep, value = line.partition(":")
        if sep and key and not key.startswith((" ", "-", "#")):
            found[key.strip()] = value.strip().strip("'\"")
    return found


def card_body(text: str) -> str:
    """A card without its front matter, paths reduced to file names."""
    body = _FRONT.sub("", text or "", count=1)
    return _ABS_PATH.sub(lambda m: re.split(r"[\\/]", m.group(0).rstrip("/\\"))[-1] or m.group(0), body).strip()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return ""


def _card(folder: Path, config: dict[str, Any]) -> str:
    """The run's model card (bertlab writes final/README.md), or a short one from the run's config
    and results when there is none."""
    text = _read(folder / "final" / "README.md")
    if card_body(text):
        return text
    from .training.run_folder import RunFolder

    results = RunFolder(folder).results()
    what = "Sentence classifier fine-tuned" if config.get("task") == "finetune" else "BERT pre-trained"
    data = (config.get("finetune") or {}).get("train") if config.get("task") == "finetune" else \
        ", ".join((config.get("pretrain") or {}).get("corpus") or [])
    lines = [f"# {what} with bertlab", "", f"- Base model: `{config.get('model') or 'default'}`",
             f"- Training data: {data or 'not recorded'}", f"- Steps: {results.get('step', '?')}"]
    lines += [f"- {key.removeprefix('eval_')}: {value:.4f}" for key, value in results.items()
              if key.startswith("eval_") and isinstance(value, (int, float)) and not isinstance(value, bool)]
    return "\n".join(lines) + "\n"


def _licence_id(value) -> str:
    """A card's licence when it is one plain id; "" otherwise (a list or odd text is not guessed at)."""
    value = str(value or "").strip()
    return value if _LICENCE_ID.fullmatch(value) else ""


def _data_files(config: dict[str, Any]) -> list[str]:
    if config.get("task") == "finetune":
        ft = config.get("finetune") or {}
        return [p for p in (ft.get("train"), ft.get("validation")) if p]
    return list((config.get("pretrain") or {}).get("corpus") or [])


def _base_model_licence(config: dict[str, Any]) -> tuple[str, str]:
    """(licence, where it was read) of the model the run started from; ("", why not) when unknown.
    A from-scratch preset has no base model: ("none", ...)."""
    if config.get("task") == "pretrain" and (config.get("pretrain") or {}).get("preset"):
        return "none", "trained from scratch"
    name = config.get("model") or "default"
    try:
        from .modeling.registry import resolve

        source = resolve(name, "pretrain" if config.get("task") == "pretrain" else "finetune")
    except Exception:  # offline hub id, deleted folder: the licence is simply not known here
        return "", f"the base model {name} cannot be looked up"
    # A shipped default's weights are its overlay's (retrained by bertlab): its card decides.
    card_dir = Path(source.overlay) if source.overlay else Path(source.path)
    licence = _licence_id(front_matter(_read(card_dir / "README.md")).get("license"))
    if not licence and source.kind == "hub":
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(name, "README.md")
            licence = _licence_id(front_matter(_read(Path(cached))).get("license")) if isinstance(cached, str) else ""
        except Exception:
            licence = ""
    return licence, (f"the card of {name}" if licence else f"the card of {name} names no licence")


def licence(folder: Path, config: dict[str, Any], given: str | None = None) -> tuple[str, str]:
    """(the Space's `license:` value, one line on where it comes from).

    Priority: what the user gives; a licence written into the run's own card; else the data's and
    the base model's cards (a dataset card is the README.md beside a data file) when both are
    known and agree. Anything less is `other`, and the note says what is missing: a model trained
    on data of unknown licence cannot be given one by guessing."""
    if given:
        if not _LICENCE_ID.fullmatch(given.strip()):
            raise BadInput(f"--license {given!r} is not a licence id (e.g. apache-2.0, mit, cc-by-4.0, other)")
        return given.strip(), "given with --license"
    own = _licence_id(front_matter(_read(folder / "final" / "README.md")).get("license"))
    if own:
        return own, "from the run's model card"
    found = {_licence_id(front_matter(_read(Path(path).parent / "README.md")).get("license"))
             for path in _data_files(config)} or {""}
    base, base_note = _base_model_licence(config)
    fix = "set `license:` in README.md (or give --license) before publishing"
    if "" in found:
        why = "the training data's licence is not recorded (no dataset card with a licence beside the data file)"
    elif len(found) > 1:
        why = f"the data files carry different licences ({', '.join(sorted(found))})"
    elif base in ("none", *found):
        return next(iter(found)), f"from the data card ({base_note})"
    elif base:
        why = f"the data is {next(iter(found))} but the base model is {base}"
    else:
        why = f"the data is {next(iter(found))}, but {base_note}"
    return "other", f"{why}; {fix}"


# ------------------------------------------------------------------------------ examples


def _labeled_validation(config: dict[str, Any]):
    """The run's validation examples, read again as the run read them (the fine-tuning task's own
    loader: the same file, columns, row cap, fraction and seed give the same stratified split)."""
    from .config import TrainConfig
    from .training.tasks.classification import load_finetune_data

    return load_finetune_data(TrainConfig.from_dict(config))[1]


def pick_examples(rows: list[tuple[str, str | None, str]], n: int = MAX_EXAMPLES) -> list[list[str]]:
    """A few (text[, pair]) rows for the page: short ones, taking labels in turn so every class is
    seen (the shortest readable row of each label first)."""
    lo, hi = EXAMPLE_CHARS
    readable = [r for r in rows if lo <= len(r[0]) + len(r[1] or "") <= hi] or \
        [r for r in rows if len(r[0]) + len(r[1] or "") <= hi]
    by_label: dict[str, list] = {}
    for row in sorted(readable, key=lambda r: len(r[0]) + len(r[1] or "")):
        by_label.setdefault(row[2], []).append(row)
    chosen, seen = [], set()
    while len(chosen) < n and any(by_label.values()):
        for label in list(by_label):
            if by_label[label] and len(chosen) < n:
                text, pair, _ = by_label[label].pop(0)
                if (text, pair) not in seen:
                    seen.add((text, pair))
                    chosen.append([text, pair] if pair is not None else [text])
    return chosen


def _classification_examples(folder: Path, config: dict[str, Any], pair: bool) -> tuple[list, str]:
    try:
        data = _labeled_validation(config)
        rows = [(t, data.pairs[i] if data.pairs else None, l) for i, (t, l) in enumerate(zip(data.texts, data.labels))]
        where = "the run's validation data"
    except (BadInput, OSError, ValueError):
        # The data file moved or is gone: the validation rows the run kept in eval_latest.json.
        from .training.run_folder import RunFolder

        details = RunFolder(folder).eval_details()
        rows = [(str(e.get("text", "")), e.get("pair") if pair else None, str(e.get("label", "")))
                for e in details.get("hardest_examples") or [] if isinstance(e, dict) and e.get("text")]
        where = "the validation rows kept in eval_latest.json (the data file is not readable here)"
    examples = pick_examples(rows)
    if pair:
        examples = [e if len(e) == 2 else e + [""] for e in examples]
    return examples, where if examples else "none: the run's validation data cannot be read here"


FALLBACK_SENTENCES = ["The capital of France is {mask}.", "She opened the door and walked into the {mask}.",
                      "I would like a cup of {mask}, please.", "我爱北京天安{mask}。", "今天天气很{mask}。"]


def _corpus_sentences(paths: list[str], limit_bytes: int = 1 << 20) -> list[str]:
    """Sentences from the start of the corpus (the first MB of each file). The run's held-out
    examples are a random draw of packed segment pairs, not readable sentences, so the page shows
    corpus sentences as written instead."""
    from .data.corpus import decode_bytes, split_sentences

    sentences: list[str] = []
    for path in paths:
        try:
            with open(path, "rb") as handle:
                raw = handle.read(limit_bytes)
            if len(raw) == limit_bytes and b"\n" in raw:
                raw = raw[:raw.rindex(b"\n")]  # whole lines only (a cut could split a character)
            text = decode_bytes(raw, str(path))
        except (OSError, BadInput):
            continue
        for line in text.splitlines():
            sentences.extend(split_sentences(line))
        if len(sentences) > 200:
            break
    return sentences


def _mask_one_word(sentence: str, tokenizer) -> str | None:
    """The sentence with its middle whole word (one vocabulary token, not [UNK]) replaced by the
    mask token, cut from the original text so spacing and case stay as written."""
    try:
        enc = tokenizer(sentence, add_special_tokens=False, return_offsets_mapping=True)
    except NotImplementedError:  # a slow (Python) tokenizer has no offsets: no examples from it
        return None
    ids, spans = enc["input_ids"], enc["offset_mapping"]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    prefix = "##"
    words = [i for i, t in enumerate(tokens) if ids[i] != tokenizer.unk_token_id and not t.startswith(prefix)
             and (i + 1 >= len(tokens) or not tokens[i + 1].startswith(prefix))
             and any(c.isalnum() for c in t)]
    if not words or ids.count(tokenizer.unk_token_id) > len(ids) // 5:
        return None
    start, end = spans[words[len(words) // 2]]
    return sentence[:start] + tokenizer.mask_token + sentence[end:]


def _mask_examples(folder: Path, config: dict[str, Any]) -> tuple[list, str]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder / "final")
    chosen: list[list[str]] = []
    for sentence in _corpus_sentences((config.get("pretrain") or {}).get("corpus") or []):
        words = len(sentence.split()) if " " in sentence.strip() else len(sentence) // 2
        if 5 <= words <= 25 and len(sentence) <= EXAMPLE_CHARS[1]:
            masked = _mask_one_word(sentence, tokenizer)
            if masked and [masked] not in chosen:
                chosen.append([masked])
        if len(chosen) >= MAX_EXAMPLES:
            break
    if chosen:
        return chosen, "sentences from the start of the corpus, one word masked"
    # The corpus is not readable here: everyday sentences the vocabulary can read.
    for template in FALLBACK_SENTENCES:
        ids = tokenizer(template.format(mask=""), add_special_tokens=False)["input_ids"]
        if ids and ids.count(tokenizer.unk_token_id) / len(ids) < 0.2:
            chosen.append([template.format(mask=tokenizer.mask_token)])
    return chosen[:MAX_EXAMPLES], "everyday sentences (the corpus is not readable here)"


def _examples_file(path: str, task: str, pair: bool, mask_token: str) -> list[list[str]]:
    """--examples F: a text file (one example per line; for sentence pairs, text TAB second text)
    or a CSV/TSV/JSONL/JSON whose text (and second text) columns are detected."""
    from .errors import DataError

    p = Path(path)
    if not p.is_file():
        raise DataError("no such file", path=path)
    if p.suffix.lower() in ("", ".txt", ".text"):
        try:
            lines = [l.strip() for l in p.read_text(encoding="utf-8-sig").splitlines() if l.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read it as UTF-8 text ({exc})", path=path) from None
        rows = [(l.split("\t", 1) + [""])[:2] if pair else [l] for l in lines]
    else:
        from .data.labeled import read_texts

        texts, pairs = read_texts(path, "", "" if pair else "-")
        rows = [[t, pairs[i] if pairs else ""] if pair else [t] for i, t in enumerate(texts) if t.strip()]
    if task == "fill-mask":
        spelled = re.compile("|".join(re.escape(s) for s in {"[MASK]", "<mask>", mask_token}), re.I)
        rows = [r for r in rows if spelled.search(r[0])]
        if not rows:
            raise DataError(f"no line holds a mask ({mask_token}); a fill-mask demo's examples need one", path=path)
    if not rows:
        raise DataError("holds no examples", path=path)
    return rows[:20]


# ------------------------------------------------------------------------------ folder files


def pinned_requirements() -> list[str]:
    """`name==version` for each package the demo needs, as installed here (where bertlab's pinned
    requirements put them), without local build tags (2.13.0+cpu -> 2.13.0: PyPI has no +cpu)."""
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for name in DEMO_PACKAGES:
        try:
            pins.append(f"{name}=={version(name).split('+', 1)[0]}")
        except PackageNotFoundError:
            pins.append(name)
    return pins


def requirements_text() -> str:
    return "\n".join([
        "# The demo's packages, pinned to the versions it was exported and tested with.",
        "# CPU build of torch: PyPI's Linux wheel pulls several GB of CUDA libraries that a CPU host",
        "# (a free Space included) never uses. On a GPU host delete the next line.",
        f"--extra-index-url {CPU_TORCH_INDEX}",
        *pinned_requirements(), ""])


def _yaml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def readme_text(settings: dict[str, Any], licence_value: str, licence_note: str, run_name: str) -> str:
    from importlib.metadata import version

    task = settings["task"]
    tags = ["bertlab", "bert", task]
    gradio_version = version("gradio").split("+", 1)[0]
    what = ("a sentence classifier" if task == "text-classification" else "a BERT masked-language model")
    lines = [
        "---",
        f"title: {_yaml_str(settings['title'])}",
        "emoji: 🧪",
        "colorFrom: blue",
        "colorTo: indigo",
        "sdk: gradio",
        f"sdk_version: {_yaml_str(gradio_version)}",
        "app_file: app.py",
        "pinned: false",
        f"license: {licence_value}",
        "tags:", *[f"  - {t}" for t in tags],
        "---", "",
        f"# {settings['title']}", "",
        f"A one-page demo of {what} trained with bertlab (run `{run_name}`). "
        "It needs no bertlab: the model is in `model/` (a plain transformers `save_pretrained` folder) "
        "and `app.py` is the whole page.", "",
        "## Run it", "",
        "    pip install -r requirements.txt && python app.py      # http://127.0.0.1:7860", "",
        "`requirements.txt` pins the versions the demo was tested with. It names PyTorch's CPU wheel "
        f"index (`--extra-index-url {CPU_TORCH_INDEX}`), so a CPU-only host (a free Space, a laptop) "
        "gets the small CPU build of torch instead of PyPI's CUDA build; on a GPU host delete that line.", "",
        "## Publish it as a Space", "",
        "Upload this folder as a Gradio Space: `python -m bertlab export-demo RUN --out DIR "
        "--push-to-hub NAME` on the machine with the run, or from this folder `hf upload NAME . "
        "--repo-type space` (or `gradio deploy`). The front matter above is the Space's settings.", "",
        "## Licence", "",
        f"`license: {licence_value}` — {licence_note}.", "",
        "## Model card", "",
        _demote(settings.get("card") or "(no card)"), ""]
    return "\n".join(lines)


def _mask_token(folder: Path) -> str:
    """The mask token as the run's tokenizer_config.json records it (a string, or an AddedToken dict)."""
    try:
        value = json.loads(_read(folder / "final" / "tokenizer_config.json") or "{}").get("mask_token")
    except ValueError:
        value = None
    value = value.get("content") if isinstance(value, dict) else value
    return value if isinstance(value, str) and value else "[MASK]"


def _demote(markdown: str) -> str:
    """The card's headings two levels down, so it nests under the README's "Model card" heading
    (lines inside code fences left alone)."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append("##" + line if line.startswith("#") and not fenced else line)
    return "\n".join(out)


def _default_title(task: str, labels: list[str]) -> str:
    if task == "fill-mask":
        return "BERT fill-mask demo"
    if 2 <= len(labels) <= 4:
        return "BERT classifier: " + " / ".join(labels)
    return "BERT text classifier"


def _copy_model(final: Path, target: Path, card: str) -> int:
    """Copy final/ into target (via a temporary name, so a failed copy leaves no half model);
    the copied card keeps only file names where the run's card had paths. Returns the bytes."""
    tmp = target.parent / f".{target.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        shutil.copytree(final, tmp)
        if (tmp / "README.md").exists() or card:
            front = _FRONT.match(card)
            (tmp / "README.md").write_text((front.group(0) if front else "") + card_body(card) + "\n",
                                           encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BadInput(f"cannot copy the model into {target.parent}: {exc.strerror or exc}") from None
    return sum(f.stat().st_size for f in target.rglob("*") if f.is_file())


# ------------------------------------------------------------------------------ the API


def export_demo(run: str | Path, out: str | Path, title: str | None = None, examples: str | None = None,
                license: str | None = None, force: bool = False) -> dict[str, Any]:
    """Write the demo folder of a finished run (see the module docstring) and return what was
    written: {"out", "run", "task", "title", "labels", "examples", "examples_from", "license",
    "license_note", "model_bytes", "files"}. BadInput for an unknown or unfinished run, a non-empty
    `out` without `force`, or an unusable examples file."""
    folder, config = _finished_run(run)
    task = TASKS[config["task"]]
    final_config = json.loads((folder / "final" / "config.json").read_text(encoding="utf-8"))
    id2label = final_config.get("id2label") or {}
    labels = [str(id2label[k]) for k in sorted(id2label, key=lambda k: int(k))] if task == "text-classification" else []
    pair = task == "text-classification" and \
        ((config.get("finetune") or {}).get("text_pair_column") or "-") not in ("-", "")
    mask = _mask_token(folder) if task == "fill-mask" else "[MASK]"
    if examples:
        rows, where = _examples_file(examples, task, pair, mask), f"{Path(examples).name} (--examples)"
    elif task == "text-classification":
        rows, where = _classification_examples(folder, config, pair)
    else:
        rows, where = _mask_examples(folder, config)
    value, note = licence(folder, config, license)
    out = _target(out, force)  # after the inputs are checked: a bad --examples leaves no folder behind

    card = _card(folder, config)
    title = " ".join((title or "").split())[:100] or _default_title(task, labels)
    intro = ("Type a sentence; the bars are the model's probability for each label."
             if task == "text-classification" else
             f"Write a sentence with {mask} where a word is missing; the bars are the model's best guesses.")
    settings = {"task": task, "title": title, "intro": intro, "pair": pair, "examples": rows,
                "card": card_body(card), "model_dir": "model", "source_run": folder.name,
                "exported_by": "bertlab export-demo"}
    model_bytes = _copy_model(folder / "final", out / "model", card)
    shutil.copyfile(TEMPLATE, out / "app.py")
    (out / "demo.json").write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "requirements.txt").write_text(requirements_text(), encoding="utf-8")
    (out / "README.md").write_text(readme_text(settings, value, note, folder.name), encoding="utf-8")
    return {"out": str(out), "run": folder.name, "task": task, "title": title, "labels": labels,
            "pair": pair, "examples": len(rows), "examples_from": where, "license": value,
            "license_note": note, "model_bytes": model_bytes, "files": list(FILES)}


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() in ("1", "true", "yes", "on")


def _scrub(message: str, token: str | None) -> str:
    message = " ".join(str(message).split())[:300]
    return message.replace(token, "***") if token else message


def _is_connection_error(exc: BaseException) -> bool:
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(names & {"ConnectionError", "ConnectError", "TransportError", "TimeoutException",
                         "OfflineModeIsEnabled", "Timeout", "gaierror", "TimeoutError"})


def push_to_hub(folder: str | Path, name: str, token: str | None = None, api=None,
                private: bool = False) -> dict[str, str]:
    """Upload an exported demo folder as a Gradio Space `name` ("user/space" or "space" for the
    token's own account); returns {"repo_id", "url"}. `api` stands in for huggingface_hub.HfApi()
    (tests pass a recorder). Raises PublishError when offline, without a token, or refused."""
    folder = Path(folder)
    name = (name or "").strip()
    if not re.fullmatch(r"(?:[\w.-]+/)?[\w.-]+", name) or ".." in name:
        raise PublishError(f"cannot publish: {name!r} is not a Space name (use user/space-name)")
    if not (folder / "app.py").is_file() or not (folder / "README.md").is_file():
        raise PublishError("cannot publish: the folder is not an exported demo (no app.py / README.md)")
    if api is None and _offline():
        raise PublishError("cannot publish: HF_HUB_OFFLINE is set, so the Hugging Face hub is not "
                           "contacted (offline)")
    if token is None:
        from huggingface_hub import get_token

        token = get_token()  # HF_TOKEN, or the login `hf auth login` stored
    if not token:
        raise PublishError("cannot publish: no Hugging Face token (set HF_TOKEN or run `hf auth login`)")
    if api is None:
        from huggingface_hub import HfApi

        from .modeling.registry import hub_reachable

        if not hub_reachable():  # a closed network can hang DNS; the probe answers in 2 s
            raise PublishError("cannot publish: the Hugging Face hub is out of reach (offline)")
        api = HfApi()
    try:
        repo = api.create_repo(name, token=token, repo_type="space", space_sdk="gradio", exist_ok=True,
                               private=private or None)
        repo_id = getattr(repo, "repo_id", None) or name
        api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="space", token=token,
                          commit_message="Demo exported by bertlab",
                          ignore_patterns=[".*", "**/.*", "__pycache__/*"])
    except PublishError:
        raise
    except Exception as exc:
        if _is_connection_error(exc):
            raise PublishError("cannot publish: the Hugging Face hub is out of reach (offline)") from None
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise PublishError(f"cannot publish: the hub refused the token for {name} (HTTP {status}); "
                               "it needs write access") from None
        raise PublishError(f"cannot publish: {type(exc).__name__}: {_scrub(exc, token)}") from None
    return {"repo_id": repo_id, "url": f"https://huggingface.co/spaces/{repo_id}"}


def export_for_page(folder: str | Path, title: str = "", space: str = "", token: str | None = None,
                    allow_stored_login: bool = False) -> dict[str, Any]:
    """What the Runs tab's "Publish as a demo" panel does: (re)write RUN/demo/, zip it for download
    and, given a Space name, upload it. A failed upload is returned as "publish_error" (the zip is
    still offered); messages name the run, never a server path."""
    folder = Path(folder)
    with _PAGE_LOCK:
        result = export_demo(folder, folder / "demo", title=title or None, force=True)
        result["zip"] = _zip(folder / "demo", f"{folder.name}-demo")
    result["space_url"], result["publish_error"] = "", ""
    if space.strip():
        try:
            if not token and not allow_stored_login:
                raise PublishError("cannot publish from a shared page with the server's own login: paste a "
                                   "Hugging Face token with write access (used for this upload only)")
            result["space_url"] = push_to_hub(folder / "demo", space, token=token or None)["url"]
        except PublishError as exc:
            result["publish_error"] = str(exc)
    result.pop("out")  # a server path: the page names the run instead
    return result


def _zip(folder: Path, name: str) -> str:
    """Zip a folder into the downloads folder (where the page's other zips go), via a temporary
    name and a rename, so a download never gets half a zip."""
    downloads = Path(tempfile.gettempdir()) / "bertlab-downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    target = downloads / f"{name}.zip"
    tmp = downloads / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    shutil.make_archive(str(tmp), "zip", root_dir=folder)
    os.replace(str(tmp) + ".zip", target)
    return str(target)
