"""A Chinese BERT made by bertlab end to end: characters -> pre-training -> sentiment.

    python examples/chinese_pipeline.py            # a small slice, a few minutes on 2 CPU cores
    python examples/chinese_pipeline.py --full     # the real sizes (~20 min pre-training + ~4 min fine-tuning)
    python examples/chinese_pipeline.py --full --resume --pretrain-steps 6000   # continue pre-training, fine-tune again

The chain, each step printing its figures:

1. vocabulary  -- a BERT WordPiece vocabulary trained on People's Daily (Jan 1998). BERT's normaliser
   splits every CJK character off, so Chinese comes out one character per token; printable ASCII is
   added to the alphabet because the newspaper writes digits and Latin letters full-width (１９９８)
   while reviews write them half-width (1998), and a vocabulary without them would turn 7% of
   ChnSentiCorp's characters into [UNK]. (`--vocab default-chinese` uses bertlab's offline 25.7k
   vocabulary instead: better coverage, but a 4x larger embedding.)
2. pre-train   -- a BERT of a size preset from scratch, masked-LM only, with jieba whole-word masking
   (all characters of a word are masked together, as Chinese-BERT-wwm does), to a step/time budget.
3. fine-tune   -- the pre-trained encoder + a new classifier on ChnSentiCorp (binary sentiment).
4. evaluate    -- reload the saved classifier, score the dev set, classify a few sentences; and ask
   the pre-trained model to fill a masked character.

The data sets come from ../shared/data (see SOURCES.md there) and are never copied into the
project: the slices and the JSONL conversions live in the work folder (default runs/chinese-pipeline).
Without the data the script says so and exits 0.

Library use: everything here is bertlab's own engine (`bertlab.training.engine.train` with a `TrainConfig`),
the same code path as `python -m bertlab pretrain/finetune`. The pre-training step uses the Python API
because the CLI does not yet accept a tokenizer-only folder together with --preset.
"""

from __future__ import annotations

import argparse
import json
import shutil
import string
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data"
PD_FILE = Path("peoples_daily_199801") / "pd199801_raw.txt"
SENTI_DIR = Path("chnsenticorp")

# Label names written into the fine-tuned model's config (ChnSentiCorp uses 0/1).
LABEL_NAMES = {"0": "negative", "1": "positive"}

# Printable ASCII: digits, Latin letters and half-width punctuation (see the module docstring).
ASCII_ALPHABET = "".join(ch for ch in string.printable if not ch.isspace())

FILL_MASK_SAMPLES = ["中国的首都是北[MASK]。", "今天天气很[MASK]。", "我们要努力学[MASK]科学文化知识。",
                     "这家酒店的服务态度非常[MASK]。"]
# Shown with the model's top predictions at every pre-training evaluation (events.jsonl).
PRETRAIN_SAMPLES = ["中国的首都是北京。", "我们要努力学习科学文化知识。", "今天天气很好。"]
CLASSIFY_SAMPLES = ["房间干净，服务周到，下次还会再来。", "质量太差了，用了两天就坏，再也不买了。",
                    "价格有点贵，不过物流很快，总体满意。"]


@dataclass
class Sizes:
    """How big each step is. `slice` finishes in minutes; `full` is the run the README reports."""

    corpus_lines: int  # People's Daily paragraphs used (0 = all 19,484)
    vocab_size: int
    preset: str
    pretrain_steps: int  # sets the learning-rate schedule; --pretrain-minutes may end it sooner
    pretrain_minutes: float
    pretrain_batch: int
    pretrain_lr: float
    seq_len: int
    eval_every: int
    train_rows: int  # ChnSentiCorp training rows (0 = all 9,600)
    dev_rows: int  # dev rows (0 = all 1,200)
    finetune_epochs: float
    finetune_batch: int
    finetune_lr: float
    max_length: int


SIZES = {
    "slice": Sizes(corpus_lines=4000, vocab_size=6000, preset="tiny", pretrain_steps=200, pretrain_minutes=3.0,
                   pretrain_batch=32, pretrain_lr=1e-3, seq_len=128, eval_every=50, train_rows=1200,
                   dev_rows=400, finetune_epochs=2.0, finetune_batch=32, finetune_lr=3e-4, max_length=128),
    # Sized for 2 shared CPU cores. The preset is tiny (2 layers x 128: 0.42M weights besides the
    # embeddings). One step of 32 paragraphs (~2,300 tokens) took ~0.32 s on one thread, so 3,800
    # steps (~20 min) show it ~8.7M tokens, about 20 per weight. mini (4 x 256, 3.2M) costs ~5x more
    # per step and would see under 1 token per weight in the same time -- far from trained. The step
    # count is what the budget allows, so the learning rate has decayed by then; the budget is a cap.
    # 6,000 entries hold all 4.6k characters of the corpus + ASCII; a larger vocabulary only adds
    # merged runs of full-width digits and Latin letters that no review uses.
    "full": Sizes(corpus_lines=0, vocab_size=6000, preset="tiny", pretrain_steps=3800, pretrain_minutes=25.0,
                  pretrain_batch=32, pretrain_lr=1e-3, seq_len=128, eval_every=300, train_rows=0,
                  dev_rows=0, finetune_epochs=2.0, finetune_batch=32, finetune_lr=3e-4, max_length=128),
}


# ------------------------------------------------------------------------------------ data


def find_data(data_dir: str | Path | None = None) -> dict[str, Path] | None:
    """The shared corpora, or None when any is missing (the caller skips with a message)."""
    base = Path(data_dir) if data_dir else DEFAULT_DATA
    paths = {"corpus": base / PD_FILE, "train": base / SENTI_DIR / "train.tsv", "dev": base / SENTI_DIR / "dev.tsv"}
    return paths if all(p.is_file() for p in paths.values()) else None


def read_chnsenticorp(path: str | Path) -> list[tuple[str, str]]:
    """(text, label) rows of a ChnSentiCorp TSV (train: `label\\ttext_a`, dev/test: `qid\\tlabel\\ttext_a`).

    The files use no CSV quoting: a review may start with a literal `"` (train.tsv line 1030), which a
    quote-aware reader takes for an opening quote. So each line is split on tabs, as GLUE/CLUE readers do.
    """
    from bertlab.errors import DataError

    path = Path(path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    if not lines:
        raise DataError("file is empty", path=str(path))
    header = lines[0].split("\t")
    if "label" not in header or "text_a" not in header:
        raise DataError(f"expected a header with 'label' and 'text_a', found {header}", path=str(path), row=1)
    li, ti = header.index("label"), header.index("text_a")
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(header):
            raise DataError(f"{len(cells)} tab-separated cells, the header has {len(header)}", path=str(path), row=n)
        if cells[li] not in LABEL_NAMES:
            raise DataError(f"label {cells[li]!r} is not 0 or 1", path=str(path), row=n, column="label")
        rows.append((cells[ti].strip(), cells[li]))
    return rows


def write_labeled_jsonl(rows: list[tuple[str, str]], path: str | Path) -> Path:
    """JSONL with `text` and `label` (named) columns: a format bertlab's loader reads unambiguously."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for text, label in rows:
            f.write(json.dumps({"text": text, "label": LABEL_NAMES.get(label, label)}, ensure_ascii=False) + "\n")
    return path


def balanced_head(rows: list[tuple[str, str]], n: int) -> list[tuple[str, str]]:
    """The first n rows, taken alternately from each class so a slice stays balanced."""
    if not n or n >= len(rows):
        return list(rows)
    by_label: dict[str, list] = {}
    for row in rows:
        by_label.setdefault(row[1], []).append(row)
    out, queues = [], [list(v) for _, v in sorted(by_label.items())]
    while len(out) < n and any(queues):
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop(0))
    return out


def write_corpus_slice(src: str | Path, dst: str | Path, max_lines: int) -> Path:
    """The first `max_lines` non-empty lines of the corpus (0 = all), one paragraph per line."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    kept = 0
    with open(src, encoding="utf-8-sig") as fin, open(dst, "w", encoding="utf-8") as fout:
        for line in fin:
            if not line.strip():
                continue
            fout.write(line.rstrip("\n") + "\n")
            kept += 1
            if max_lines and kept >= max_lines:
                break
    return dst


# ------------------------------------------------------------------------------------ steps


def build_vocabulary(corpus_files: list[str | Path], out_dir: str | Path, vocab_size: int,
                     alphabet: str = ASCII_ALPHABET):
    """Train a BERT WordPiece vocabulary on the corpus (lower-cased, CJK split per character) and
    save it as a fast tokenizer in `out_dir`. `alphabet` is fed to the trainer as extra text, so
    each of its characters gets a token (and a `##` continuation for letters and digits) even when
    the corpus never writes it."""
    from bertlab.data.tokenization import train_wordpiece

    def texts():
        for file in corpus_files:
            with open(file, encoding="utf-8-sig") as f:
                for line in f:
                    if line.strip():
                        yield line
        if alphabet:
            yield " ".join(alphabet)
            # Letters and digits also inside words ("100" = 1 ##0 ##0): WordPiece keeps a separate
            # `##x` entry for a character that continues a word, learned only from seeing it there.
            yield " ".join(ch + ch for ch in alphabet if ch.isalnum())

    return train_wordpiece(None, vocab_size, True, str(out_dir), texts=texts())


def vocabulary_stats(tokenizer, texts: list[str]) -> dict[str, Any]:
    """Size, how many entries are single CJK characters, and the [UNK] rate on `texts` (per token)."""
    from bertlab.data.tokenization import is_cjk_char

    vocab = tokenizer.get_vocab()
    unk = tokenizer.unk_token_id
    n_tokens = n_unk = 0
    for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]:
        n_tokens += len(ids)
        n_unk += sum(i == unk for i in ids)
    return {"vocab_size": len(vocab), "cjk_characters": sum(len(t) == 1 and is_cjk_char(t) for t in vocab),
            "unk_rate": n_unk / max(n_tokens, 1), "tokens_checked": n_tokens}


def _fresh_run_folder(folder: Path) -> None:
    """Replace an earlier run of this script in `folder` (only a bertlab run folder is removed)."""
    if folder.exists():
        if not (folder / "run_config.json").exists():
            from bertlab.errors import BadInput

            raise BadInput(f"{folder} exists and is not a bertlab run folder; choose another --work folder")
        shutil.rmtree(folder)


def pretrain(tokenizer_dir: str | Path, corpus_files: list[str | Path], out: str | Path, *, preset: str = "tiny",
             max_steps: int = 3800, max_minutes: float = 0.0, batch_size: int = 32, lr: float = 1e-3,
             seq_len: int = 128, wwm: bool = True, eval_every: int = 200, seed: int = 42, resume: bool = False,
             show_progress: bool = True, on_event=None) -> dict[str, Any]:
    """Pre-train a BERT of size `preset` from scratch with the vocabulary in `tokenizer_dir`
    (masked-LM only, whole-word masking by jieba words). Returns the engine's results; the model is
    saved in `out/final`, the learning curve in `out/events.jsonl`.

    With `resume=True` the run in `out` continues from its last checkpoint; `max_steps` and
    `max_minutes` are the new limits (the other settings are the run's own)."""
    from bertlab.config import PretrainConfig, TrainConfig
    from bertlab.training.engine import train

    out = Path(out)
    if resume:
        config = TrainConfig.load(out / "run_config.json")
        config.out, config.max_steps, config.max_minutes = str(out), max_steps, max_minutes
        return train(config, on_event=on_event, resume=True, show_progress=show_progress)
    _fresh_run_folder(out)
    # Same recipe as `pretrain --preset P --no-nsp --wwm`, with `model` naming the vocabulary
    # folder: a preset builds the encoder from scratch and only the tokenizer is taken from `model`.
    config = TrainConfig(task="pretrain", model=str(tokenizer_dir), out=str(out), max_steps=max_steps,
                         max_minutes=max_minutes, batch_size=batch_size, lr=lr, warmup=0.06,
                         eval_every=eval_every, log_every=10, save_every=0, keep_checkpoints=1, seed=seed,
                         pretrain=PretrainConfig(corpus=[str(f) for f in corpus_files], preset=preset, nsp=False,
                                                 wwm=wwm, max_seq_length=seq_len,
                                                 sample_sentences=list(PRETRAIN_SAMPLES)))
    return train(config, on_event=on_event, show_progress=show_progress)


def finetune(model: str | Path, train_file: str | Path, dev_file: str | Path, out: str | Path, *,
             epochs: float = 2.0, batch_size: int = 32, lr: float = 1e-4, max_length: int = 128,
             max_steps: int = 0, seed: int = 42, show_progress: bool = True, on_event=None) -> dict[str, Any]:
    """Fine-tune `model` (any name bertlab resolves: a run's final/, a folder) for classification
    on `train_file`, evaluated on `dev_file` after every epoch; results include eval_accuracy."""
    from bertlab.config import FinetuneConfig, TrainConfig
    from bertlab.training.engine import train

    out = Path(out)
    _fresh_run_folder(out)
    config = TrainConfig(task="finetune", model=str(model), out=str(out), epochs=epochs, max_steps=max_steps,
                         batch_size=batch_size, lr=lr, warmup=0.1, eval_every=0, keep_checkpoints=1, seed=seed,
                         finetune=FinetuneConfig(train=str(train_file), validation=str(dev_file),
                                                 text_column="text", label_column="label", text_pair_column="-",
                                                 max_length=max_length))
    return train(config, on_event=on_event, show_progress=show_progress)


def random_init_copy(model_dir: str | Path, out_dir: str | Path, seed: int = 0) -> Path:
    """A freshly initialised masked-LM with the same config and vocabulary as `model_dir`, saved
    in save_pretrained layout: the 'no pre-training' reference for fine-tuning."""
    import torch
    from transformers import AutoConfig, AutoModelForMaskedLM, AutoTokenizer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = AutoModelForMaskedLM.from_config(AutoConfig.from_pretrained(model_dir))
    model.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(out_dir)
    return out_dir


def mlm_curve(run_dir: str | Path) -> list[dict[str, Any]]:
    """MLM accuracy against training time, from a pre-training run's events.jsonl: one row per
    evaluation (held-out examples, fixed masks) with the training accuracy logged nearest before it."""
    from bertlab.training.runs import read_events

    rows, last_train = [], None
    for e in read_events(Path(run_dir)):
        if e.get("type") == "train" and "mlm_accuracy" in e:
            last_train = e
        elif e.get("type") == "eval" and "eval_mlm_accuracy" in e:
            rows.append({"step": e["step"], "minutes": round(e["elapsed_s"] / 60, 2),
                         "eval_mlm_accuracy": e["eval_mlm_accuracy"], "eval_mlm_loss": e.get("eval_mlm_loss"),
                         "train_mlm_accuracy": last_train["mlm_accuracy"] if last_train else None,
                         "tokens_per_s": last_train.get("tokens_per_s") if last_train else None})
    return rows


def fine_tuned_max_length(model_dir: str | Path) -> int | None:
    """The --max-length a bertlab fine-tuning run trained with (from the run's run_config.json)."""
    config = Path(model_dir).parent / "run_config.json"
    if not config.exists():
        return None
    return int(json.loads(config.read_text(encoding="utf-8"))["finetune"]["max_length"])


def evaluate_classifier(model_dir: str | Path, dev_file: str | Path) -> dict[str, Any]:
    """Reload a saved classifier through bertlab's registry and score a labeled JSONL file.

    Texts are cut to the length the model was fine-tuned with: BERT's position embeddings beyond
    it were never trained for this task (and, for a model pre-trained here at 128 tokens, never
    trained at all), so reading a 300-character review whole scores worse than the training run's
    own evaluation did."""
    import numpy as np

    from bertlab.inference.classify import label_names, predict_probs
    from bertlab.training.metrics import classification_metrics
    from bertlab.modeling.registry import load_model

    loaded = load_model(str(model_dir), head="classification", task="classify")
    rows = [json.loads(line) for line in Path(dev_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    names = label_names(loaded.model)
    probs = predict_probs([r["text"] for r in rows], None, loaded, max_length=fine_tuned_max_length(model_dir))
    labels = [names.index(r["label"]) for r in rows]
    metrics = classification_metrics(labels, probs, names)
    # Mean cross-entropy, comparable with the training run's eval_loss.
    metrics["loss"] = float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None))))
    return metrics


def classify_samples(model_dir: str | Path, texts: list[str]) -> list[dict[str, Any]]:
    """Label and probability of each text, read as the model was fine-tuned (see evaluate_classifier)."""
    from bertlab.inference.classify import label_names, predict_probs
    from bertlab.modeling.registry import load_model

    loaded = load_model(str(model_dir), head="classification", task="classify")
    names = label_names(loaded.model)
    probs = predict_probs(texts, None, loaded, max_length=fine_tuned_max_length(model_dir))
    return [{"text": t, "label": names[int(p.argmax())], "score": float(p.max())} for t, p in zip(texts, probs)]


def fill_mask_samples(model_dir: str | Path, texts: list[str], top_k: int = 5) -> list[dict[str, Any]]:
    from bertlab.inference.fill_mask import fill_mask
    from bertlab.modeling.registry import load_model

    loaded = load_model(str(model_dir), head="masked-lm", task="fill-mask")
    out = []
    for text in texts:
        r = fill_mask(text, loaded, top_k=top_k, attention=False)
        out.append({"text": text, "top": [(c["token"], round(c["score"], 3)) for c in r["masks"][0]["candidates"]]})
    return out


# ------------------------------------------------------------------------------------ the chain


def progress_printer(label: str):
    """An engine event hook: one line per evaluation, so the slice run shows the model learning."""

    def hook(event: dict) -> None:
        if event.get("type") != "eval":
            return
        minutes = event.get("elapsed_s", 0) / 60
        if "eval_mlm_accuracy" in event:
            print(f"  [{label}] step {event['step']:>5}  {minutes:5.1f} min  eval MLM accuracy "
                  f"{event['eval_mlm_accuracy']:.3f}  loss {event['eval_mlm_loss']:.3f}", flush=True)
        elif "eval_accuracy" in event:
            print(f"  [{label}] step {event['step']:>5}  {minutes:5.1f} min  dev accuracy {event['eval_accuracy']:.4f}",
                  flush=True)

    return hook


def prepare_data(paths: dict[str, Path], work: Path, sizes: Sizes) -> dict[str, Path]:
    """Corpus slice + ChnSentiCorp as JSONL in the work folder (derived files, never in the project)."""
    data = work / "data"
    corpus = write_corpus_slice(paths["corpus"], data / "corpus.txt", sizes.corpus_lines)
    train_rows = balanced_head(read_chnsenticorp(paths["train"]), sizes.train_rows)
    dev_rows = balanced_head(read_chnsenticorp(paths["dev"]), sizes.dev_rows)
    return {"corpus": corpus, "train": write_labeled_jsonl(train_rows, data / "train.jsonl"),
            "dev": write_labeled_jsonl(dev_rows, data / "dev.jsonl"), "train_rows": len(train_rows),
            "dev_rows": len(dev_rows)}


def run_pipeline(paths: dict[str, Path], work: Path, sizes: Sizes, *, vocab: str = "trained", resume: bool = False,
                 quiet: bool = False) -> dict[str, Any]:
    """Vocabulary -> pre-training -> fine-tuning -> evaluation; returns every step's figures."""
    from transformers import AutoTokenizer

    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"sizes": sizes.__dict__, "work": str(work)}
    t0 = time.time()
    data = prepare_data(paths, work, sizes)
    dev_texts = [json.loads(l)["text"] for l in open(data["dev"], encoding="utf-8")]

    print("1/4 vocabulary", flush=True)
    if vocab == "trained":
        tok_dir = work / "vocab"
        if not (resume and (tok_dir / "tokenizer.json").exists()):
            build_vocabulary([data["corpus"]], tok_dir, sizes.vocab_size)
        tokenizer = AutoTokenizer.from_pretrained(tok_dir)
        model_ref = str(tok_dir)
    else:
        from bertlab.modeling.registry import load_tokenizer

        tokenizer, model_ref = load_tokenizer(vocab, "tokenize"), vocab
    report["vocabulary"] = vocabulary_stats(tokenizer, dev_texts)
    v = report["vocabulary"]
    print(f"  {v['vocab_size']:,} entries, {v['cjk_characters']:,} single CJK characters; "
          f"[UNK] rate on ChnSentiCorp dev {v['unk_rate']:.4%}", flush=True)

    print(f"2/4 pre-training: preset {sizes.preset}, whole-word masking, up to {sizes.pretrain_steps} steps"
          + (f" / {sizes.pretrain_minutes:g} min" if sizes.pretrain_minutes else ""), flush=True)
    pt_dir = work / "pretrain"
    pt = pretrain(model_ref, [data["corpus"]], pt_dir, preset=sizes.preset, max_steps=sizes.pretrain_steps,
                  max_minutes=sizes.pretrain_minutes, batch_size=sizes.pretrain_batch, lr=sizes.pretrain_lr,
                  seq_len=sizes.seq_len, eval_every=sizes.eval_every, resume=resume, show_progress=not quiet,
                  on_event=progress_printer("pre-train"))
    report["pretrain"] = {k: pt.get(k) for k in ("step", "elapsed_s", "eval_mlm_accuracy", "eval_mlm_loss",
                                                 "eval_perplexity", "vocab_size", "train_examples")}
    report["mlm_curve"] = mlm_curve(pt_dir)
    print(f"  {pt['step']} steps in {pt['elapsed_s'] / 60:.1f} min: eval MLM accuracy {pt['eval_mlm_accuracy']:.3f} "
          f"(perplexity {pt['eval_perplexity']:.1f})", flush=True)
    report["fill_mask"] = fill_mask_samples(pt_dir / "final", FILL_MASK_SAMPLES)
    for row in report["fill_mask"]:
        print(f"  {row['text']}  ->  " + "  ".join(f"{t} {p:.2f}" for t, p in row["top"]), flush=True)

    print(f"3/4 fine-tuning on ChnSentiCorp: {data['train_rows']:,} training rows, {sizes.finetune_epochs:g} epochs",
          flush=True)
    ft_dir = work / "finetune"
    ft = finetune(pt_dir / "final", data["train"], data["dev"], ft_dir, epochs=sizes.finetune_epochs,
                  batch_size=sizes.finetune_batch, lr=sizes.finetune_lr, max_length=sizes.max_length,
                  show_progress=not quiet, on_event=progress_printer("fine-tune"))
    report["finetune"] = {k: ft.get(k) for k in ("step", "elapsed_s", "eval_accuracy", "eval_f1", "eval_roc_auc",
                                                 "eval_loss")}

    print(f"4/4 evaluation of the saved classifier on {data['dev_rows']:,} dev rows", flush=True)
    metrics = evaluate_classifier(ft_dir / "final", data["dev"])
    report["evaluation"] = {k: metrics[k] for k in ("accuracy", "f1", "precision", "recall", "roc_auc", "loss")
                            if k in metrics}
    print("  " + "  ".join(f"{k} {v:.4f}" for k, v in report["evaluation"].items() if isinstance(v, float)), flush=True)
    report["classify"] = classify_samples(ft_dir / "final", CLASSIFY_SAMPLES)
    for row in report["classify"]:
        print(f"  {row['label']:>8} {row['score']:.2f}  {row['text']}", flush=True)
    report["total_minutes"] = round((time.time() - t0) / 60, 2)
    print(f"done in {report['total_minutes']:.1f} min; models: {pt_dir / 'final'} (fill-mask), "
          f"{ft_dir / 'final'} (sentiment)", flush=True)
    return report


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="the real run sizes (all data, ~20 min pre-training)")
    p.add_argument("--data-dir", default=None, help=f"shared data folder (default {DEFAULT_DATA})")
    p.add_argument("--work", default=None, help="where the runs and derived data go (default runs/chinese-pipeline[-full])")
    p.add_argument("--vocab", default="trained", help="'trained' (on the corpus) or a tokenizer name such as default-chinese")
    p.add_argument("--resume", action="store_true", help="continue the pre-training run in --work, then fine-tune again")
    p.add_argument("--preset", choices=["tiny", "mini", "small", "base"], help="override the size preset")
    p.add_argument("--pretrain-steps", type=int, help="override the pre-training steps")
    p.add_argument("--pretrain-minutes", type=float, help="override the pre-training time budget (0 = none)")
    p.add_argument("--train-rows", type=int, help="override the ChnSentiCorp training rows (0 = all)")
    p.add_argument("--epochs", type=float, help="override the fine-tuning epochs")
    p.add_argument("--threads", type=int, help="torch CPU threads (1 is fastest on a busy 2-core machine)")
    p.add_argument("--json", action="store_true", help="print the report as JSON at the end")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def sizes_from_args(args) -> Sizes:
    sizes = Sizes(**SIZES["full" if args.full else "slice"].__dict__)
    for flag, field in (("preset", "preset"), ("pretrain_steps", "pretrain_steps"),
                        ("pretrain_minutes", "pretrain_minutes"), ("train_rows", "train_rows"),
                        ("epochs", "finetune_epochs")):
        if getattr(args, flag) is not None:
            setattr(sizes, field, getattr(args, flag))
    return sizes


def main(argv=None) -> int:
    args = parse_args(argv)
    paths = find_data(args.data_dir)
    if paths is None:
        print(f"skipped: People's Daily and ChnSentiCorp not found under {args.data_dir or DEFAULT_DATA} "
              "(this example needs ../shared/data; see its SOURCES.md)")
        return 0
    import transformers

    from bertlab.errors import BadInput, DataError
    from bertlab.modeling.registry import runs_root

    transformers.logging.set_verbosity_error()  # long-review length notices are expected noise here
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    work = Path(args.work) if args.work else runs_root() / ("chinese-pipeline-full" if args.full else "chinese-pipeline")
    try:
        report = run_pipeline(paths, work, sizes_from_args(args), vocab=args.vocab, resume=args.resume,
                              quiet=args.quiet)
    except (BadInput, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    (work / "pipeline_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
