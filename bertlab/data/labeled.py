"""Labeled data: find the text, optional second text and label columns of a table that
bertlab.data.table read, check the rows and keep them as `LabeledData`; also the preview the page
shows, the stratified validation split, the texts to classify, and predictions written as CSV.
Errors name the file, row and column as bertlab.data.table does (DataError).

Column detection (`detect_columns`) prefers usual names (text, sentence1/sentence2, label, ...),
then content: the label is a column with few distinct short values, the text the column with the
longest average value, a sentence-pair second text the next text-like column.
"""

from __future__ import annotations

import csv
import math
import os
import random
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

from ..errors import BadInput, DataError
from .table import (CJK, ID_NAMES, LABEL_NAMES, PAIR_NAMES, STRONG_LABEL_NAMES, TEXT_NAMES, Table, column_key,
                    is_number, read_file)

MAX_CLASSES = 1000
SAMPLE_ROWS = 5000  # rows looked at when detecting columns; enough to see every label of a sane set

# Binary labels whose meaning is clear get the "positive" one as class 1, so binary precision,
# recall and F1 (positive = class 1) are about the class a person expects.
NEGATIVE_NAMES = {"negative", "neg", "no", "false", "0", "bad", "not_paraphrase", "different",
                  "not_duplicate", "not_entailment", "负面", "消极", "否", "差评", "不是"}
POSITIVE_NAMES = {"positive", "pos", "yes", "true", "1", "good", "paraphrase", "same",
                  "duplicate", "entailment", "正面", "积极", "是", "好评"}

_INT = re.compile(r"^[+-]?\d+$")
_HEADERLESS = re.compile(r"^column\s*(\d+)$", re.IGNORECASE)


@dataclass
class LabeledData:
    """Examples read from one file: texts (and second texts for pairs) with string labels."""

    texts: list[str]
    pairs: list[str] | None
    labels: list[str]  # as strings; integer labels become "0", "1", ...
    text_column: str
    text_pair_column: str | None
    label_column: str  # names as resolved (header-less files: "column 1", ...)
    path: str
    skipped_empty: int = 0  # rows left out because their text, second text or label was empty
    rows_read: int = 0  # data rows in the file (header not counted)
    notices: list[str] = field(default_factory=list)  # what was detected or skipped, for the page
    row_numbers: list[int] = field(default_factory=list)  # file row of each example (see module doc)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def label_names(self) -> list[str]:
        return label_names(self.labels)

    def subset(self, indices: Iterable[int], note: str | None = None) -> "LabeledData":
        idx = list(indices)
        return replace(self, texts=[self.texts[i] for i in idx],
                       pairs=None if self.pairs is None else [self.pairs[i] for i in idx],
                       labels=[self.labels[i] for i in idx],
                       row_numbers=[self.row_numbers[i] for i in idx] if self.row_numbers else [],
                       notices=self.notices + ([note] if note else []))


def _show(values: Iterable[str], limit: int = 12) -> str:
    vals = [repr(v) for v in values]
    more = f" and {len(vals) - limit} more" if len(vals) > limit else ""
    return ", ".join(vals[:limit]) + more


def _normalise_label(v: str) -> str:
    v = v.strip()
    # "1.0" (a float column saved by pandas) and "1" are the same class.
    if is_number(v) and not _INT.match(v):
        try:
            f = float(v)
        except ValueError:  # pragma: no cover - the regex only admits floats
            return v
        if math.isfinite(f) and f.is_integer() and abs(f) < 1e15:
            return str(int(f))
    if _INT.match(v):
        return str(int(v))  # "+1", "01" -> "1"
    return v


def label_names(labels: Iterable[str]) -> list[str]:
    """The distinct labels in class-id order: numbers numerically, other names alphabetically,
    and for two classes with a clear meaning (negative/positive, no/yes, 负面/正面, ...) the
    positive one second, so it is class 1, the positive class of binary metrics."""
    names = sorted(set(labels))
    if all(_INT.match(n) for n in names):
        names.sort(key=int)
    if len(names) == 2:
        a, b = (n.casefold() for n in names)
        if a in POSITIVE_NAMES and b in NEGATIVE_NAMES:
            names.reverse()
    return names


# ---------------------------------------------------------------------------- column detection


@dataclass
class _Stats:
    index: int
    name: str
    filled: int
    distinct: int
    avg_len: float
    numeric: float  # fraction of filled cells that are numbers
    integers: bool  # every filled cell is an integer
    avg_words: float  # words per value; a Chinese character counts as half a word

    @property
    def label_like(self) -> bool:
        # Few distinct, short values: at most half as many as there are rows (a text column
        # repeats rarely), and never more than MAX_CLASSES.
        cap = min(MAX_CLASSES, max(2, self.filled // 2))
        return 2 <= self.distinct <= cap and self.avg_len <= 40

    @property
    def text_like(self) -> bool:
        return self.filled > 0 and self.numeric < 0.5


def _stats(columns: list[str], rows: list[list[str]]) -> list[_Stats]:
    sample = rows[:SAMPLE_ROWS]
    out = []
    for j, name in enumerate(columns):
        vals = [r[j].strip() for r in sample if j < len(r) and r[j].strip()]
        numeric = sum(1 for v in vals if is_number(v))
        words = sum(len(v.split()) + len(CJK.findall(v)) / 2 for v in vals)
        out.append(_Stats(j, name, len(vals), len(set(vals)),
                          sum(len(v) for v in vals) / len(vals) if vals else 0.0,
                          numeric / len(vals) if vals else 0.0,
                          bool(vals) and all(_INT.match(v) for v in vals),
                          words / len(vals) if vals else 0.0))
    return out


class _Problem(Exception):
    """A column problem found before the file's path is at hand; becomes a DataError."""

    def __init__(self, message: str, column: str | None = None):
        super().__init__(message)
        self.message, self.column = message, column

    def error(self, path: str | None = None) -> DataError:
        return DataError(self.message, path=path, column=self.column)


def _is_id(name: str) -> bool:
    return column_key(name) in {column_key(n) for n in ID_NAMES if n}


def _resolve_column(name: str, columns: list[str], role: str) -> str:
    """The column a user named: exact, then ignoring case/spaces, then 'column N' / 'N' (1-based)."""
    if name in columns:
        return name
    matches = [c for c in columns if column_key(c) == column_key(name)]
    if len(matches) == 1:
        return matches[0]
    m = _HEADERLESS.match(name.strip()) or re.match(r"^(\d+)$", name.strip())
    if m and 1 <= int(m.group(1)) <= len(columns):
        return columns[int(m.group(1)) - 1]
    raise _Problem(f"there is no {role} column named {name!r}; the columns are: {_show(columns, 50)}",
                   column=name)


def _detect(columns: list[str], rows: list[list[str]], *, text: str | None = None, pair: str | None = None,
            label: str | None = None, need_label: bool = True, detect_pair: bool = True):
    """Resolve the text, pair and label columns; given names are checked, missing ones detected.

    Returns ({"text", "text_pair", "label"}, notices). Raises _Problem.
    """
    notices: list[str] = []
    stats = {s.name: s for s in _stats(columns, rows)}
    chosen = {"text": text, "text_pair": pair, "label": label}
    for role, name in list(chosen.items()):
        if name:
            chosen[role] = _resolve_column(name, columns, role.replace("_", " "))
    taken = {v for v in chosen.values() if v}
    if chosen["text"] and chosen["text"] == chosen["label"]:
        raise _Problem(f"the same column {chosen['text']!r} cannot hold both the text and the label",
                       column=chosen["text"])
    if chosen["text_pair"] and chosen["text_pair"] in (chosen["text"], chosen["label"]):
        raise _Problem(f"column {chosen['text_pair']!r} is already used as the text or the label; "
                       "the second text needs its own column", column=chosen["text_pair"])
    free = [c for c in columns if c not in taken and not _is_id(c)]
    by_key = {}
    for c in free:
        by_key.setdefault(column_key(c), c)

    if need_label and not chosen["label"]:
        # "label" and its close variants are taken on their name; looser names (class, target, y,
        # ...) only when the column also holds few distinct values.
        named = next((by_key[column_key(n)] for n in LABEL_NAMES if column_key(n) in by_key
                      and (n in STRONG_LABEL_NAMES or stats[by_key[column_key(n)]].label_like)), None)
        if named:
            chosen["label"] = named
            notices.append(f"label column: {named!r} (by its name)")
        else:
            cands = [stats[c] for c in free if stats[c].label_like]
            if len(cands) > 1:
                ints = [s for s in cands if s.integers and s.distinct <= 20]
                cands = ints if len(ints) == 1 else cands
            if len(cands) > 1:
                raise _Problem(f"cannot tell which column holds the labels: {_show(s.name for s in cands)} "
                               "all have few distinct values; choose one (--label-column). The columns are: "
                               f"{_show(columns, 50)}")
            if not cands:
                # A column with one value only is still the label column of a one-class file, which
                # load_labeled then refuses with the clearer message.
                consts = [stats[c] for c in free if stats[c].distinct == 1 and stats[c].avg_len <= 40]
                others = [c for c in free if stats[c].text_like and stats[c].distinct > 1]
                if len(consts) == 1 and others:
                    cands = consts
            if not cands:
                raise _Problem("no column looks like labels (a few distinct short values); choose the label "
                               f"column (--label-column). The columns are: {_show(columns, 50)}")
            chosen["label"] = cands[0].name
            notices.append(f"label column: {chosen['label']!r} ({cands[0].distinct} distinct values)")
        taken.add(chosen["label"])
        free = [c for c in free if c != chosen["label"]]
        by_key = {k: c for k, c in by_key.items() if c != chosen["label"]}

    text_by_name = False
    if not chosen["text"]:
        for first, second in PAIR_NAMES:
            if column_key(first) in by_key and column_key(second) in by_key and detect_pair and not chosen["text_pair"]:
                chosen["text"], chosen["text_pair"] = by_key[column_key(first)], by_key[column_key(second)]
                text_by_name = True
                break
        if not chosen["text"]:
            named = next((by_key[column_key(n)] for n in TEXT_NAMES if column_key(n) in by_key
                          and by_key[column_key(n)] != chosen["text_pair"]), None)
            if named:
                chosen["text"], text_by_name = named, True
                notices.append(f"text column: {named!r} (by its name)")
        if not chosen["text"]:
            texts = sorted((stats[c] for c in free if stats[c].text_like and c != chosen["text_pair"]),
                           key=lambda s: (s.label_like, -s.avg_len))  # a category column only as a last resort
            if not texts and not need_label:
                # Unlabeled file: any column with content will do, longest first.
                texts = sorted((stats[c] for c in free if stats[c].filled and c != chosen["text_pair"]),
                               key=lambda s: -s.avg_len)
            if not texts:
                raise _Problem(f"no column looks like text; choose the text column (--text-column). "
                               f"The columns are: {_show(columns, 50)}")
            chosen["text"] = texts[0].name
            notices.append(f"text column: {chosen['text']!r} (longest values, {texts[0].avg_len:.0f} characters "
                           "on average)")
    taken.add(chosen["text"])
    free = [c for c in free if c not in taken]

    if detect_pair and not chosen["text_pair"]:
        partner = next((b for a, b in PAIR_NAMES if column_key(a) == column_key(chosen["text"]) and column_key(b) in by_key
                        and by_key[column_key(b)] in free), None)
        if partner:
            chosen["text_pair"] = by_key[column_key(partner)]
        else:
            # A second column of sentences: text-like, several words, mostly distinct, not much
            # shorter than the text (so URLs, names and categories are not taken for sentences).
            main = stats[chosen["text"]]
            cands = sorted((stats[c] for c in free if stats[c].text_like and stats[c].avg_words >= 3
                            and stats[c].avg_len >= 0.3 * main.avg_len
                            and stats[c].distinct >= 0.5 * stats[c].filled), key=lambda s: -s.avg_len)
            if cands:
                second = cands[0]
                # Keep the file's order: the earlier column is the first text of the pair, unless the
                # text column was named (by the user or by a usual name).
                if not text and not text_by_name and second.index < main.index:
                    chosen["text"], chosen["text_pair"] = second.name, main.name
                else:
                    chosen["text_pair"] = second.name
    if chosen["text_pair"] and not pair:
        notices.append(f"sentence pairs: first text {chosen['text']!r}, second text {chosen['text_pair']!r} "
                       "(choose none as the second text column to use one text only)")
    return chosen, notices


def detect_columns(columns: list[str], rows: list[list[str]]) -> dict[str, str | None]:
    """{"text": column, "text_pair": column or None, "label": column}, from names then content.

    Raises DataError (without a path) when a column cannot be found or the label is ambiguous.
    """
    try:
        chosen, _ = _detect(columns, rows)
    except _Problem as exc:
        raise exc.error() from None
    return chosen


# ---------------------------------------------------------------------------------- public API


def preview(path, n: int = 5, **limits) -> dict[str, Any]:
    """The first `n` rows and what was detected, for the page's preview table.

    Returns {"columns", "rows", "detected": {"text", "text_pair", "label"}, "format", "encoding",
    "has_header", "n_rows", "notices", "problem"}; `problem` is the message when a column cannot
    be detected (the page then asks the user to choose). Unreadable files raise DataError.
    """
    t = read_file(path, **limits)
    detected: dict[str, str | None] = {"text": None, "text_pair": None, "label": None}
    problem = None
    notices = list(t.notices)
    if t.rows:
        try:
            detected, found = _detect(t.columns, t.rows)
            notices += found
        except _Problem as exc:
            problem = str(exc.error(t.path))
        else:
            problem = _single_class_problem(t, detected.get("label"))
    else:
        problem = str(DataError("has a header row but no data rows", path=t.path))

    def short(cell: str) -> str:  # keep the page light when a cell holds a whole document
        return cell if len(cell) <= 300 else cell[:300] + "…"

    return {"columns": t.columns, "rows": [[short(c) for c in r] for r in t.rows[:n]], "detected": detected,
            "format": t.format, "encoding": t.encoding, "has_header": t.has_header, "n_rows": len(t.rows),
            "notices": notices, "problem": problem}


def _single_class_problem(t: Table, label_column: str | None) -> str | None:
    """The message load_labeled would give for a file whose rows all carry one label, so the
    preview flags it before a run is started (a classifier needs two classes)."""
    if not label_column or label_column not in t.columns:
        return None
    li = t.columns.index(label_column)
    labels = {_normalise_label(row[li]) for row in t.rows} - {""}
    if len(labels) == 1:
        return str(DataError(f"every row has the same label {next(iter(labels))!r}: a classifier needs at "
                             "least two classes", path=t.path, column=label_column))
    return None


def _pair_arg(text_pair_column: str | None) -> tuple[str | None, bool]:
    """(given column, detect?) from the CLI/page convention: "" = detect, "-" = none."""
    if text_pair_column is None or text_pair_column.strip() in ("-", "none", "None"):
        return None, False
    if not text_pair_column.strip():
        return None, True
    return text_pair_column, False


def load_labeled(path, text_column: str = "", text_pair_column: str = "", label_column: str = "", *,
                 max_empty_fraction: float = 0.1, **limits) -> LabeledData:
    """Read a labeled file into texts (+ second texts) and string labels, or raise DataError.

    Column names "" are detected; text_pair_column "-" means single texts. Rows with an empty text,
    second text or label are skipped and counted; more than `max_empty_fraction` of them is refused
    (the wrong column was probably chosen). At least two classes are required.
    """
    t = read_file(path, **limits)
    if not t.rows:
        raise DataError(f"has a header row ({_show(t.columns)}) but no data rows", path=t.path)
    pair_name, detect_pair = _pair_arg(text_pair_column)
    try:
        chosen, found = _detect(t.columns, t.rows, text=text_column.strip() or None, pair=pair_name,
                                label=label_column.strip() or None, detect_pair=detect_pair)
    except _Problem as exc:
        raise exc.error(t.path) from None
    ti = t.columns.index(chosen["text"])
    li = t.columns.index(chosen["label"])
    pi = t.columns.index(chosen["text_pair"]) if chosen["text_pair"] else None

    texts, pairs, labels, numbers = [], [] if pi is not None else None, [], []
    skipped: list[tuple[int, str]] = []
    for row, number in zip(t.rows, t.row_numbers):
        text, label = row[ti].strip(), _normalise_label(row[li])
        second = row[pi].strip() if pi is not None else None
        if not text or not label or (pi is not None and not second):
            empty = chosen["text"] if not text else chosen["label"] if not label else chosen["text_pair"]
            skipped.append((number, empty))
            continue
        texts.append(text)
        labels.append(label)
        numbers.append(number)
        if pairs is not None:
            pairs.append(second)

    n = len(t.rows)
    notices = t.notices + found
    if skipped:
        rows_shown = ", ".join(str(r) for r, _ in skipped[:10]) + (" ..." if len(skipped) > 10 else "")
        if not texts or len(skipped) / n > max_empty_fraction:
            first_row, first_col = skipped[0]
            raise DataError(f"{len(skipped)} of {n} rows ({len(skipped) / n:.0%}) have an empty text or label "
                            f"(rows {rows_shown}); at most {max_empty_fraction:.0%} may be empty. Is the right "
                            "column chosen?", path=t.path, row=first_row, column=first_col)
        notices.append(f"skipped {len(skipped)} row(s) with an empty text or label (rows {rows_shown})")
    classes = Counter(labels)
    if len(classes) < 2:
        only = next(iter(classes))
        raise DataError(f"every row has the same label {only!r}: a classifier needs at least two classes",
                        path=t.path, column=chosen["label"])
    if len(classes) > MAX_CLASSES or (len(labels) >= 20 and len(classes) > 0.9 * len(labels)):
        raise DataError(f"has {len(classes):,} different labels in {len(labels):,} rows: that looks like text, not "
                        "labels. Choose the label column (--label-column)", path=t.path, column=chosen["label"])
    notices.append(f"{len(texts)} examples, {len(classes)} classes: "
                   + ", ".join(f"{name} ({classes[name]})" for name in label_names(classes)))
    return LabeledData(texts=texts, pairs=pairs, labels=labels, text_column=chosen["text"],
                       text_pair_column=chosen["text_pair"], label_column=chosen["label"], path=t.path,
                       skipped_empty=len(skipped), rows_read=n, notices=notices, row_numbers=numbers)


def stratified_split(data: LabeledData, fraction: float, seed: int) -> tuple[LabeledData, LabeledData]:
    """(train, validation): `fraction` of the examples held out, every class in proportion.

    Each class contributes floor(fraction * its count) examples, and the remainder needed to reach
    round(fraction * n) goes to the classes with the largest leftover fraction; a class keeps at
    least one training example. The same data, fraction and seed always give the same split, and
    both parts keep the file's order.
    """
    if not 0 < fraction < 1:
        raise BadInput(f"the validation fraction must be between 0 and 1 (exclusive), got {fraction}")
    n = len(data.labels)
    by_class: dict[str, list[int]] = {}
    for i, label in enumerate(data.labels):
        by_class.setdefault(label, []).append(i)
    names = label_names(by_class)
    target = max(1, round(fraction * n))
    quota = {c: fraction * len(by_class[c]) for c in names}
    take = {c: min(int(quota[c]), len(by_class[c]) - 1) for c in names}
    # Largest remainder; ties broken by class order, so the result does not depend on dict order.
    order = sorted(names, key=lambda c: (-(quota[c] - int(quota[c])), names.index(c)))
    for c in order * 2:
        if sum(take.values()) >= target:
            break
        if take[c] < len(by_class[c]) - 1:
            take[c] += 1
    if sum(take.values()) == 0:
        raise DataError(f"only {n} examples: too few to hold out {fraction:.0%} for validation with every class "
                        "still in training; add rows or give a validation file", path=data.path)
    rng = random.Random(seed)
    held: set[int] = set()
    for c in names:
        idx = by_class[c][:]
        rng.shuffle(idx)
        held.update(idx[:take[c]])
    train_idx = [i for i in range(n) if i not in held]
    val_idx = sorted(held)
    note = f"validation: {len(val_idx)} examples ({fraction:.0%}, stratified, seed {seed}) held out of {n}"
    return data.subset(train_idx, note), data.subset(val_idx, note)


def check_validation_labels(train: LabeledData, validation: LabeledData) -> None:
    """DataError naming the validation labels the training data never shows, and a row of each."""
    seen = set(train.labels)
    unseen: dict[str, int | None] = {}
    for i, label in enumerate(validation.labels):
        if label not in seen and label not in unseen:
            unseen[label] = validation.row_numbers[i] if validation.row_numbers else None
    if unseen:
        first_label, first_row = next(iter(unseen.items()))
        rows = ", ".join(f"{lab!r} (row {row})" for lab, row in unseen.items())
        raise DataError(f"label(s) {rows} do not occur in the training data {train.path}, so the model could never "
                        f"predict them; training labels are {_show(label_names(seen))}",
                        path=validation.path, row=first_row, column=validation.label_column)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def _safe_cell(v: Any) -> Any:
    """A cell a spreadsheet will show, not run: text starting like a formula gets a leading '.

    Numbers stay numbers (-0.5 is data, not a formula); only strings can carry a formula such as
    =HYPERLINK(...) or @SUM(...) (OWASP "CSV injection"). Fullwidth ＝＋－＠ are included because
    some spreadsheet locales accept them as formula starts.
    """
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v


def write_predictions_csv(path, rows: list[dict]) -> None:
    """Write rows (dicts; columns in first-seen key order) as a CSV safe to open in a spreadsheet.

    UTF-8 with a byte-order mark, so Excel shows Chinese text correctly; written to a temporary file
    and renamed, so a reader never sees half a file.
    """
    columns: dict[str, None] = {}
    for r in rows:
        for k in r:
            columns.setdefault(str(k), None)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".predictions-", suffix=".csv", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow([_safe_cell(c) for c in columns])
            for r in rows:
                w.writerow([_safe_cell(r.get(c, "")) for c in columns])
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class TextsToClassify:
    """A file to classify: its table as read (every column, so predictions can be joined back)
    and the texts (and second texts) chosen from it, one per data row in file order."""

    columns: list[str]
    rows: list[list[str]]
    texts: list[str]
    pairs: list[str] | None
    text_column: str
    text_pair_column: str | None


def read_to_classify(path, text_column: str = "", text_pair_column: str = "-", **limits) -> TextsToClassify:
    """The texts (and second texts) of a file to classify, with the whole table; a label column may
    be present and is kept like any other column.

    Every data row gives one entry in file order, an empty cell giving "", so predictions line up
    with the rows of the input file. text_pair_column: "-" = none (default), "" = detect.
    """
    t = read_file(path, **limits)
    if not t.rows:
        raise DataError(f"has a header row ({_show(t.columns)}) but no data rows", path=t.path)
    pair_name, detect_pair = _pair_arg(text_pair_column)
    try:
        chosen, _ = _detect(t.columns, t.rows, text=text_column.strip() or None, pair=pair_name,
                            need_label=False, detect_pair=detect_pair)
    except _Problem as exc:
        raise exc.error(t.path) from None
    ti = t.columns.index(chosen["text"])
    texts = [r[ti].strip() for r in t.rows]
    if not any(texts):
        raise DataError("every text is empty", path=t.path, column=chosen["text"])
    pairs = None
    if chosen["text_pair"]:
        pi = t.columns.index(chosen["text_pair"])
        pairs = [r[pi].strip() for r in t.rows]
    return TextsToClassify(t.columns, t.rows, texts, pairs, chosen["text"], chosen["text_pair"])


def read_texts(path, text_column: str = "", text_pair_column: str = "-", **limits) -> tuple[list[str], list[str] | None]:
    """(texts, second texts or None) of a file to classify; see read_to_classify."""
    found = read_to_classify(path, text_column, text_pair_column, **limits)
    return found.texts, found.pairs
