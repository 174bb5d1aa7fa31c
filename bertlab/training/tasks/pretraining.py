"""BERT pre-training: masked-language modelling (MLM) + next-sentence prediction (NSP).

Examples follow google-research/bert's create_pretraining_data: segments are built from
consecutive sentences of a document up to a target length (sometimes shorter), split into A and
B; half the time B is the true continuation, half the time it comes from another document.
Masking happens in the collator, fresh for every batch (dynamic, as RoBERTa): 15% of the tokens,
of which 80% become [MASK], 10% a random token, 10% stay; special tokens are never chosen.
With whole-word masking the unit is the word (WordPiece ## continuations; jieba words for Chinese).

Sparse prediction: the vocabulary projection runs only on masked positions (as google-research/bert
and cramming do) -- with 15% masking that is ~7x fewer rows through the largest matmul of the head.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

from ...config import TASK_RULES
from ...errors import BadInput, DataError
from ...files import atomic_write_text
from .base import Task, pad_batch

# Size presets (layers, hidden, heads; the learning rate and batch size that make short CPU runs
# learn) live beside the config they are chosen in.
from ...config import PRESETS  # noqa: E402  (re-exported: estimate and older scripts import it from here)

DEFAULT_SAMPLES = [
    "The capital of France is Paris.",
    "She opened the door and walked into the room.",
    "I would like a cup of coffee, please.",
    "我爱北京天安门。",
]

MIN_EXAMPLES = 8


def preset_config(name: str, vocab_size: int, max_len: int):
    from transformers import BertConfig

    if name not in PRESETS:
        raise BadInput(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    p = PRESETS[name]
    return BertConfig(vocab_size=vocab_size, hidden_size=p["hidden"], num_hidden_layers=p["layers"],
                      num_attention_heads=p["heads"], intermediate_size=4 * p["hidden"],
                      max_position_embeddings=max(512, max_len))


# ------------------------------------------------------------------------------ examples


def tokenize_documents(documents: list[list[str]], tokenizer, wwm: bool) -> list[list[dict]]:
    """Each sentence -> {"ids": [...], "word_starts": [...]} (no special tokens)."""
    flat = [s for doc in documents for s in doc]
    enc = tokenizer(flat, add_special_tokens=False)["input_ids"]
    word_starts_all: list[list[bool] | None] = [None] * len(flat)
    if wwm:
        from ...data.tokenization import wwm_word_ids

        for i, ids in enumerate(enc):
            tokens = tokenizer.convert_ids_to_tokens(ids)
            word_ids = wwm_word_ids(tokens, flat[i])
            word_starts_all[i] = [j == 0 or word_ids[j] != word_ids[j - 1] for j in range(len(ids))]
    out, k = [], 0
    for doc in documents:
        sentences = []
        for _ in doc:
            if enc[k]:
                sentences.append({"ids": enc[k], "word_starts": word_starts_all[k]})
            k += 1
        if sentences:
            out.append(sentences)
    return out


def _truncate_pair(a: list, b: list, wa: list, wb: list, max_tokens: int, rng: random.Random) -> None:
    """Trim the longer side, one token at a time from a random end (as google-research/bert)."""
    while len(a) + len(b) > max_tokens:
        longer, words = (a, wa) if len(a) > len(b) else (b, wb)
        if rng.random() < 0.5:
            del longer[0], words[0]
        else:
            longer.pop(), words.pop()


def build_examples(docs: list[list[dict]], tokenizer, max_seq_length: int, nsp: bool,
                   short_seq_prob: float, seed: int, dupe_factor: int = 1) -> list[dict]:
    rng = random.Random(seed)
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    examples = []
    for _ in range(max(1, dupe_factor)):
        for d, doc in enumerate(docs):
            examples.extend(_examples_from_document(docs, d, cls_id, sep_id, max_seq_length, nsp,
                                                    short_seq_prob, rng))
    rng.shuffle(examples)
    return examples


def _examples_from_document(docs, d, cls_id, sep_id, max_seq_length, nsp, short_seq_prob, rng):
    doc = docs[d]
    max_tokens = max_seq_length - (3 if nsp else 2)
    target = max_tokens
    if rng.random() < short_seq_prob:  # occasional short sequences, so short inputs are seen too
        target = rng.randint(2, max_tokens)
    examples, chunk, length, i = [], [], 0, 0
    while i < len(doc):
        chunk.append(doc[i])
        length += len(doc[i]["ids"])
        if i == len(doc) - 1 or length >= target:
            if chunk:
                ids_a = [t for s in chunk for t in s["ids"]]
                words_a = [w for s in chunk for w in (s["word_starts"] or [True] * len(s["ids"]))]
                if not nsp:
                    ids_a, words_a = ids_a[:max_tokens], words_a[:max_tokens]
                    examples.append(_pack(cls_id, sep_id, ids_a, words_a, None, None, None))
                else:
                    a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
                    a = chunk[:a_end]
                    ids_a = [t for s in a for t in s["ids"]]
                    words_a = [w for s in a for w in (s["word_starts"] or [True] * len(s["ids"]))]
                    is_random = len(chunk) == 1 or rng.random() < 0.5
                    if is_random and len(docs) > 1:
                        target_b = max(1, target - len(ids_a))
                        other = d
                        for _ in range(10):
                            other = rng.randrange(len(docs))
                            if other != d:
                                break
                        odoc = docs[other]
                        start = rng.randrange(len(odoc))
                        ids_b, words_b = [], []
                        for s in odoc[start:]:
                            ids_b += s["ids"]
                            words_b += s["word_starts"] or [True] * len(s["ids"])
                            if len(ids_b) >= target_b:
                                break
                        # The sentences of the chunk not used as A go back to be used again.
                        i -= len(chunk) - a_end
                        label = 1
                    else:
                        is_random = False
                        b = chunk[a_end:]
                        ids_b = [t for s in b for t in s["ids"]]
                        words_b = [w for s in b for w in (s["word_starts"] or [True] * len(s["ids"]))]
                        label = 0
                    if ids_b:
                        ids_a, words_a, ids_b, words_b = list(ids_a), list(words_a), list(ids_b), list(words_b)
                        _truncate_pair(ids_a, ids_b, words_a, words_b, max_tokens, rng)
                        if ids_a and ids_b:
                            examples.append(_pack(cls_id, sep_id, ids_a, words_a, ids_b, words_b, label))
            chunk, length = [], 0
        i += 1
    return examples


def _pack(cls_id, sep_id, ids_a, words_a, ids_b, words_b, nsp_label):
    """[CLS] A [SEP] (B [SEP]); token types 0 for A, 1 for B; word starts for whole-word masking
    (special tokens get False and are never masked)."""
    input_ids = [cls_id] + ids_a + [sep_id]
    token_type_ids = [0] * len(input_ids)
    word_starts = [False] + list(words_a) + [False]
    special = [1] + [0] * len(ids_a) + [1]
    if ids_b is not None:
        input_ids += ids_b + [sep_id]
        token_type_ids += [1] * (len(ids_b) + 1)
        word_starts += list(words_b) + [False]
        special += [0] * len(ids_b) + [1]
    example = {"input_ids": input_ids, "token_type_ids": token_type_ids, "special": special,
               "word_starts": word_starts}
    if nsp_label is not None:
        example["next_sentence_label"] = nsp_label
    return example


# ------------------------------------------------------------------------------ masking


class MaskingCollator:
    """Pads a batch and masks it afresh (dynamic masking).

    labels: the original id at masked positions, -100 elsewhere (ignored by the loss).
    With `generator` given, masking is reproducible (used for the fixed evaluation set)."""

    def __init__(self, tokenizer, mlm_probability=0.15, wwm=False, generator=None):
        self.pad_id = tokenizer.pad_token_id
        self.mask_id = tokenizer.mask_token_id
        self.vocab_size = len(tokenizer)
        self.mlm_probability = mlm_probability
        self.wwm = wwm
        self.generator = generator

    def __call__(self, examples: list[dict], explain: bool = False):
        import torch

        batch = pad_batch(examples, self.pad_id, keys=("input_ids", "token_type_ids"))
        if "next_sentence_label" in examples[0]:
            batch["next_sentence_label"] = torch.tensor([e["next_sentence_label"] for e in examples])
        input_ids = batch["input_ids"]  # (B, T)
        B, T = input_ids.shape
        special = torch.ones(B, T, dtype=torch.bool)
        for i, e in enumerate(examples):
            special[i, :len(e["special"])] = torch.tensor(e["special"], dtype=torch.bool)
        selected = self._select(examples, special, B, T)
        labels = torch.where(selected, input_ids, torch.full_like(input_ids, -100))
        g = self.generator
        roll = torch.rand(B, T, generator=g)
        to_mask = selected & (roll < 0.8)
        to_random = selected & (roll >= 0.8) & (roll < 0.9)  # the last 10% keep their token
        random_ids = torch.randint(self.vocab_size, (B, T), generator=g)
        masked_ids = input_ids.clone()
        masked_ids[to_mask] = self.mask_id
        masked_ids[to_random] = random_ids[to_random]
        batch["input_ids"] = masked_ids
        batch["labels"] = labels
        if explain:
            batch["_mask_kind"] = torch.zeros(B, T, dtype=torch.long)  # 0 none, 1 [MASK], 2 random, 3 kept
            batch["_mask_kind"][to_mask] = 1
            batch["_mask_kind"][to_random] = 2
            batch["_mask_kind"][selected & (roll >= 0.9)] = 3
            batch["_original_ids"] = input_ids
        return batch

    def _select(self, examples, special, B, T):
        import torch

        g = self.generator
        if not self.wwm:
            probs = torch.full((B, T), self.mlm_probability)
            probs[special] = 0.0
            return torch.bernoulli(probs, generator=g).bool()
        # Whole-word masking: choose words (not pieces) until ~15% of the tokens are covered.
        selected = torch.zeros(B, T, dtype=torch.bool)
        for i, e in enumerate(examples):
            starts = e["word_starts"]
            words: list[list[int]] = []
            for j, is_start in enumerate(starts):
                if e["special"][j]:
                    continue
                if is_start or not words:
                    words.append([j])
                else:
                    words[-1].append(j)
            n_tokens = sum(len(w) for w in words)
            budget = max(1, round(n_tokens * self.mlm_probability))
            order = torch.randperm(len(words), generator=g).tolist()
            covered = 0
            for w in order:
                if covered >= budget:
                    break
                if covered + len(words[w]) > budget + 1 and covered > 0:
                    continue  # a long word would overshoot: try a shorter one
                selected[i, words[w]] = True
                covered += len(words[w])
        return selected


# ------------------------------------------------------------------------------ the task


def mlm_head(model):
    """The MLM prediction head (transform + decoder) of BertForPreTraining / BertForMaskedLM."""
    return model.cls.predictions


def pretraining_losses(model, batch, sparse: bool = True) -> dict[str, Any]:
    """Forward pass with sparse (or dense) MLM; returns losses and accuracy counts."""
    import torch
    import torch.nn.functional as F

    body = model.bert
    out = body(input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids"),
               attention_mask=batch.get("attention_mask"))
    hidden = out.last_hidden_state  # (B, T, H)
    labels = batch["labels"]  # (B, T), -100 where not masked
    masked = labels != -100
    if sparse:
        logits = mlm_head(model)(hidden[masked])  # (N_masked, V): only masked rows are projected
        targets = labels[masked]
    else:
        logits = mlm_head(model)(hidden).flatten(0, 1)  # (B*T, V)
        targets = labels.flatten()
    mlm_loss = F.cross_entropy(logits.float(), targets, ignore_index=-100)
    keep = targets != -100
    result = {"mlm_loss": mlm_loss, "mlm_correct": (logits.argmax(-1)[keep] == targets[keep]).sum(),
              "mlm_count": keep.sum(), "loss": mlm_loss}
    if "next_sentence_label" in batch and hasattr(model.cls, "seq_relationship"):
        nsp_logits = model.cls.seq_relationship(out.pooler_output)  # (B, 2)
        nsp_loss = F.cross_entropy(nsp_logits.float(), batch["next_sentence_label"])
        result.update(nsp_loss=nsp_loss, loss=mlm_loss + nsp_loss,
                      nsp_correct=(nsp_logits.argmax(-1) == batch["next_sentence_label"]).sum(),
                      nsp_count=torch.tensor(batch["next_sentence_label"].numel()))
    return result


def training_wrapper(model, sparse: bool):
    """Wrap a BertForPreTraining / BertForMaskedLM so the sparse MLM (+ NSP) loss runs inside one
    forward(). Multi-process training needs this: DistributedDataParallel all-reduces gradients
    only for computation that goes through the wrapped module's forward, not for calls into its
    sub-modules (model.bert, model.cls) from outside."""
    import torch

    class PretrainingModel(torch.nn.Module):
        def __init__(self, inner, sparse_mlm):
            super().__init__()
            self.model = inner
            self.sparse = sparse_mlm
            self.register_load_state_dict_pre_hook(_accept_unwrapped_keys)

        @property
        def config(self):
            return self.model.config

        def forward(self, **batch):
            return pretraining_losses(self.model, batch, self.sparse)

    return PretrainingModel(model, sparse)


def _accept_unwrapped_keys(module, state_dict, prefix, *_):
    """Checkpoints written before pre-training ran through the wrapper (bertlab before the
    multi-process fix) hold the plain model's keys ("bert.…", "cls.…"); the wrapper's are
    "model.bert.…". Renamed here, so such runs still resume."""
    inner = prefix + "model."
    for key in [k for k in state_dict if k.startswith(prefix) and not k.startswith(inner)]:
        state_dict[inner + key[len(prefix):]] = state_dict.pop(key)


class PretrainingTask(Task):
    metric_for_best = ("eval_mlm_loss", False)

    def setup(self) -> None:
        import torch

        from ...data.corpus import corpus_stats, read_corpus
        from ...modeling.registry import load_model, load_tokenizer

        cfg, pcfg = self.config, self.config.pretrain
        documents = read_corpus(pcfg.corpus)
        self.stats = corpus_stats(documents)
        if not documents:
            raise DataError("the corpus is empty: no text found (pre-training needs at least a few "
                            "thousand characters; a few hundred KB to learn anything useful)",
                            path=", ".join(pcfg.corpus))
        if pcfg.nsp and len(documents) < 2:
            raise DataError(f"the corpus has {len(documents)} document(s); next-sentence prediction needs "
                            "at least 2 (separate documents by blank lines, or use --no-nsp)",
                            path=", ".join(pcfg.corpus))

        # Tokenizer: a new WordPiece vocabulary (from scratch), a named one, or the model's own. Which
        # combinations make sense is the config's rule (bertlab.config: checked by the CLI, the page and here).
        TASK_RULES["pretrain"](cfg)
        if pcfg.train_tokenizer:
            from ...data.tokenization import train_wordpiece

            tok_dir = Path(cfg.out) / "tokenizer"
            texts = [s for doc in documents for s in doc]
            self.tokenizer = train_wordpiece(None, pcfg.vocab_size, pcfg.lowercase, str(tok_dir), texts=texts)
        elif pcfg.preset and pcfg.tokenizer:
            self.tokenizer = load_tokenizer(pcfg.tokenizer, "tokenize")
            cfg.pretrain.vocab_size = len(self.tokenizer)
        elif pcfg.tokenizer:  # vocabulary transfer: the model's body, this vocabulary
            self.tokenizer = load_tokenizer(pcfg.tokenizer, "tokenize")
        else:
            self.tokenizer = load_tokenizer(cfg.model or "default", "pretrain")

        if pcfg.preset:
            from transformers import BertForMaskedLM, BertForPreTraining

            bert_config = preset_config(pcfg.preset, len(self.tokenizer), pcfg.max_seq_length)
            bert_config.pad_token_id = self.tokenizer.pad_token_id
            self.model = (BertForPreTraining if pcfg.nsp else BertForMaskedLM)(bert_config)
            self.origin = f"from scratch, preset {pcfg.preset}"
        else:
            head = "pretraining" if pcfg.nsp else "masked-lm"
            # A missing NSP / MLM head is created freshly initialised.
            loaded = load_model(cfg.model or "default", head=head, task="pretrain", allow_new_head=True)
            self.model = loaded.model
            self.origin = f"continued from {loaded.source.name}"
            if len(self.tokenizer) > self.model.config.vocab_size:
                self.model.resize_token_embeddings(len(self.tokenizer))

        docs = tokenize_documents(documents, self.tokenizer, pcfg.wwm)
        if pcfg.tokenizer and not pcfg.preset and loaded.tokenizer.get_vocab() != self.tokenizer.get_vocab():
            from collections import Counter

            from ...modeling.vocab_transfer import transfer_vocabulary

            counts = Counter(t for doc in docs for sentence in doc for t in sentence["ids"])
            kept = transfer_vocabulary(self.model, loaded.tokenizer, self.tokenizer, counts, seed=cfg.seed)
            self.origin = (f"{loaded.source.name}'s body with the vocabulary of {pcfg.tokenizer} "
                           f"({kept['shared_tokens']:,} of {kept['vocab_size']:,} embedding rows kept)")
        self.model = training_wrapper(self.model, pcfg.sparse_mlm)
        examples = build_examples(docs, self.tokenizer, pcfg.max_seq_length, pcfg.nsp,
                                  pcfg.short_seq_probability, cfg.seed, pcfg.dupe_factor)
        n_tokens = sum(len(e["input_ids"]) for e in examples)
        if len(examples) < MIN_EXAMPLES:
            raise DataError(
                f"the corpus is too small: {self.stats['characters']} characters in {self.stats['documents']} "
                f"documents gave {len(examples)} training examples; pre-training needs at least {MIN_EXAMPLES} "
                f"(roughly {MIN_EXAMPLES * pcfg.max_seq_length * 4:,} characters of English or "
                f"{MIN_EXAMPLES * pcfg.max_seq_length:,} of Chinese at --max-seq-length {pcfg.max_seq_length}; "
                "a few hundred KB to learn anything useful)", path=", ".join(pcfg.corpus))
        n_eval = min(500, max(2, len(examples) // 20))
        self.eval_dataset, self.train_dataset = examples[:n_eval], examples[n_eval:]
        self.stats.update(train_examples=len(self.train_dataset), eval_examples=n_eval, tokens=n_tokens)
        self.collator = MaskingCollator(self.tokenizer, pcfg.mlm_probability, pcfg.wwm)
        # Evaluation masks the same positions every time, so its curve measures the model alone.
        self.eval_generator = torch.Generator()
        self.samples = pcfg.sample_sentences or self._default_samples()
        if pcfg.train_tokenizer:
            cfg.pretrain.vocab_size = len(self.tokenizer)

    def _default_samples(self) -> list[str]:
        # Choose sample sentences the vocabulary can read (English or Chinese).
        unk = self.tokenizer.unk_token_id
        good = []
        for s in DEFAULT_SAMPLES:
            ids = self.tokenizer(s, add_special_tokens=False)["input_ids"]
            if ids and sum(i == unk for i in ids) / len(ids) < 0.2:
                good.append(s)
        return good[:3]

    def collate_train(self, features):
        return self.collator(features)

    def collate_eval(self, features):
        return self.collator(features)

    def training_step(self, model, batch):
        r = model(**batch)  # through the (possibly DDP-wrapped) forward: see training_wrapper
        stats = {"mlm_loss": r["mlm_loss"].item(), "mlm_correct": r["mlm_correct"].item(),
                 "mlm_count": r["mlm_count"].item()}
        if "nsp_loss" in r:
            stats.update(nsp_loss=r["nsp_loss"].item(), nsp_correct=r["nsp_correct"].item(),
                         nsp_count=r["nsp_count"].item())
        return r["loss"], stats

    def summarize_stats(self, sums, n):
        out = {"mlm_loss": sums.get("mlm_loss", 0.0) / max(n, 1),
               "mlm_accuracy": sums.get("mlm_correct", 0.0) / max(sums.get("mlm_count", 0.0), 1)}
        if "nsp_count" in sums:
            out["nsp_loss"] = sums["nsp_loss"] / max(n, 1)
            out["nsp_accuracy"] = sums["nsp_correct"] / max(sums["nsp_count"], 1)
        return out

    def evaluate(self, model, loader) -> dict[str, Any]:
        self.collator.generator = self.eval_generator.manual_seed(1234)
        try:
            totals = {"mlm_loss": 0.0, "nsp_loss": 0.0, "mlm_correct": 0, "mlm_count": 0,
                      "nsp_correct": 0, "nsp_count": 0, "batches": 0}
            for batch in loader:
                r = model(**batch)
                vals = {k: v for k, v in r.items() if k != "loss"}
                gathered = {k: self.accelerator.reduce(v.detach().float().reshape(1), "sum").item()
                            for k, v in vals.items()}
                n = self.accelerator.num_processes
                totals["mlm_loss"] += gathered["mlm_loss"] / n
                totals["mlm_correct"] += gathered["mlm_correct"]
                totals["mlm_count"] += gathered["mlm_count"]
                if "nsp_loss" in gathered:
                    totals["nsp_loss"] += gathered["nsp_loss"] / n
                    totals["nsp_correct"] += gathered["nsp_correct"]
                    totals["nsp_count"] += gathered["nsp_count"]
                totals["batches"] += 1
        finally:
            self.collator.generator = None
        b = max(totals["batches"], 1)
        metrics = {"eval_mlm_loss": totals["mlm_loss"] / b,
                   "eval_mlm_accuracy": totals["mlm_correct"] / max(totals["mlm_count"], 1)}
        metrics["eval_loss"] = metrics["eval_mlm_loss"]
        if totals["nsp_count"]:
            metrics["eval_nsp_loss"] = totals["nsp_loss"] / b
            metrics["eval_nsp_accuracy"] = totals["nsp_correct"] / totals["nsp_count"]
            metrics["eval_loss"] += metrics["eval_nsp_loss"]
        metrics["eval_perplexity"] = math.exp(min(metrics["eval_mlm_loss"], 30))
        if self.accelerator.is_main_process:
            metrics["sample_predictions"] = self.sample_predictions(model)
        return metrics

    def sample_predictions(self, model) -> list[dict[str, Any]]:
        """Mask one word of each sample sentence and show the current top predictions."""
        import torch

        rows = []
        unwrapped = self.accelerator.unwrap_model(model).model  # the BERT inside training_wrapper
        for sentence in self.samples:
            ids = self.tokenizer(sentence)["input_ids"]
            tokens = self.tokenizer.convert_ids_to_tokens(ids)
            specials = set(self.tokenizer.all_special_ids)
            # Ask about a whole word (one piece, no ## continuation) so the answer is readable.
            content = [i for i, t in enumerate(ids) if t not in specials and not tokens[i].startswith("##")
                       and (i + 1 >= len(ids) or not tokens[i + 1].startswith("##"))
                       and any(c.isalnum() for c in tokens[i])]
            if not content:
                continue
            # the middle content token: deterministic, so the user watches the same question
            pos = content[len(content) // 2]
            answer = self.tokenizer.convert_ids_to_tokens([ids[pos]])[0]
            masked = list(ids)
            masked[pos] = self.tokenizer.mask_token_id
            x = torch.tensor([masked], device=self.accelerator.device)
            hidden = unwrapped.bert(input_ids=x).last_hidden_state[0, pos]  # (H,)
            probs = torch.softmax(mlm_head(unwrapped)(hidden[None]).float()[0], -1)
            top = torch.topk(probs, 5)
            rows.append({"text": self.tokenizer.decode(masked[1:-1]), "answer": answer,
                         "predictions": [[self.tokenizer.convert_ids_to_tokens([int(i)])[0], round(float(p), 4)]
                                         for p, i in zip(top.values, top.indices)]})
        return rows

    def data_summary(self) -> dict[str, Any]:
        return {"corpus": list(self.config.pretrain.corpus), **self.stats,
                "vocab_size": len(self.tokenizer), "origin": self.origin}

    def final_results(self) -> dict[str, Any]:
        return {"origin": self.origin, "vocab_size": len(self.tokenizer),
                "train_examples": self.stats.get("train_examples"), "tokens_per_epoch": self.stats.get("tokens")}

    def save_final(self, model, folder, results: dict, state_dict: dict | None = None) -> None:
        if state_dict is not None:  # gathered from the wrapper: its keys start with "model."
            state_dict = {k.removeprefix("model."): v for k, v in state_dict.items()}
        super().save_final(model.model, folder, results, state_dict)  # the plain model, not the wrapper
        atomic_write_text(Path(folder) / "README.md", self.model_card(results))

    def model_card(self, results: dict) -> str:
        cfg, p = self.config, self.config.pretrain
        lines = ["---", "library_name: transformers", "pipeline_tag: fill-mask", "---", "",
                 "# BERT pre-trained with bertlab", "",
                 f"- Model: {self.origin}; {self.model.config.num_hidden_layers} layers, hidden "
                 f"{self.model.config.hidden_size}, vocabulary {len(self.tokenizer)}",
                 f"- Objective: masked-LM{' + next-sentence prediction' if p.nsp else ' only'}"
                 f"{', whole-word masking' if p.wwm else ''}, {p.mlm_probability:.0%} masking (80/10/10)",
                 f"- Corpus: {', '.join(p.corpus)} ({self.stats['documents']} documents, "
                 f"{self.stats['characters']:,} characters). Licence: as given by the corpus owner.",
                 f"- Steps: {results.get('step')} of batch {cfg.batch_size}, max length {p.max_seq_length}, "
                 f"lr {cfg.lr}, {results.get('elapsed_s', 0):.0f} s", ""]
        for key in ("eval_mlm_accuracy", "eval_mlm_loss", "eval_nsp_accuracy"):
            if results.get(key) is not None:
                lines.append(f"- {key[5:]}: {results[key]:.4f}")
        lines += ["", "Load it with `transformers.AutoModelForMaskedLM.from_pretrained(PATH)`.", ""]
        return "\n".join(lines)


def preview_batch(config, n: int = 4) -> dict[str, Any]:
    """A sample batch as the user will train on it: which tokens became [MASK], a random token,
    or stayed; and the NSP pairs with their labels. Loads only the tokenizer (no model)."""
    from ...data.corpus import read_corpus
    from ...modeling.registry import load_tokenizer

    p = config.pretrain
    documents = read_corpus(p.corpus)[:200]
    if not documents:
        raise DataError("the corpus is empty: no text found", path=", ".join(p.corpus))
    if p.tokenizer and not p.train_tokenizer:
        tokenizer = load_tokenizer(p.tokenizer, "tokenize")
    elif p.train_tokenizer:
        from ...data.tokenization import train_wordpiece
        import tempfile

        tokenizer = train_wordpiece(None, p.vocab_size, p.lowercase, tempfile.mkdtemp(prefix="bertlab-tok-"),
                                    texts=[s for d in documents for s in d])
    else:
        tokenizer = load_tokenizer(config.model or "default", "pretrain")
    docs = tokenize_documents(documents, tokenizer, p.wwm)
    examples = build_examples(docs, tokenizer, p.max_seq_length, p.nsp, p.short_seq_probability, config.seed)[:n]
    if not examples:
        raise DataError("the corpus gave no training examples", path=", ".join(p.corpus))
    import torch

    batch = MaskingCollator(tokenizer, p.mlm_probability, p.wwm, torch.Generator().manual_seed(config.seed))(
        examples, explain=True)
    kinds = {0: "", 1: "mask", 2: "random", 3: "kept"}
    rows = []
    for i, e in enumerate(examples):
        length = len(e["input_ids"])
        orig = tokenizer.convert_ids_to_tokens(batch["_original_ids"][i, :length].tolist())
        shown = tokenizer.convert_ids_to_tokens(batch["input_ids"][i, :length].tolist())
        rows.append({"tokens": [{"token": s, "original": o, "kind": kinds[int(k)], "segment": int(t)}
                                for s, o, k, t in zip(shown, orig, batch["_mask_kind"][i, :length].tolist(),
                                                      e["token_type_ids"])],
                     "nsp_label": {0: "IsNext", 1: "NotNext"}.get(e.get("next_sentence_label"), "-")})
    return {"examples": rows, "vocab_size": len(tokenizer)}
