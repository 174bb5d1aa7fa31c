"""Labeled data in: read a CSV / TSV / JSONL / JSON file a person uploaded, find its text, optional
second text and label columns, and refuse anything unusable with a message that says where.

Everything a user can get wrong raises `bertlab.errors.DataError` naming the file and, where it
applies, the row and column. Row numbers are the ones a person sees in the file: for CSV/TSV the
line on which the record starts, 1-based, so the header is row 1 (this is also the spreadsheet row
unless a cell spans several lines); for JSONL the line number; for a JSON list the record's
position in the list, 1-based.

Reading, in order:
1. size: an empty file, or one over `max_bytes`, is refused before it is read;
2. binary: known binary signatures (xlsx/zip, xls, PDF, gzip, Parquet, SQLite, images) and NUL
   bytes are refused with a hint (save the sheet as CSV);
3. encoding: a byte-order mark decides (UTF-8, UTF-16, UTF-32); otherwise strict UTF-8, then strict
   GB18030 (a superset of GBK and GB2312, what Chinese Windows saves), and GB18030 is accepted only
   when the result reads like Chinese (most non-ASCII characters are common GB2312 ones). Anything
   else is refused naming the first undecodable byte's offset and line: never guessed, never
   garbled;
4. format: by extension (.csv, .tsv/.tab, .jsonl/.ndjson, .json), else sniffed (a JSON list,
   JSON lines, or a delimited file whose delimiter gives every sampled line the same cell count);
5. header: JSON always has names; for CSV/TSV the first row is a header unless it looks like data
   (see `_guess_header`); header-less columns are named "column 1", "column 2", ...

Column detection (`detect_columns`) prefers usual names (text, sentence1/sentence2, label, ...),
then content: the label is a column with few distinct short values, the text the column with the
longest average value, a sentence-pair second text the next text-like column.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

from .errors import BadInput, DataError

MAX_BYTES = 200 * 1024 * 1024
MAX_CELL_CHARS = 100_000
MAX_COLUMNS = 1000
MAX_CLASSES = 1000
SAMPLE_ROWS = 5000  # rows looked at when detecting columns; enough to see every label of a sane set

# Usual column names, compared after casefolding and trimming. Order matters within each tuple:
# the first name that a file has wins.
LABEL_NAMES = ("label", "labels", "gold_label", "class", "category", "target", "sentiment",
               "polarity", "y", "tag", "intent", "is_duplicate", "quality", "label_text",
               "标签", "类别", "情感", "分类", "类型")
STRONG_LABEL_NAMES = {"label", "labels", "gold_label", "label_text", "标签"}
TEXT_NAMES = ("text", "sentence", "sentence1", "text_a", "text1", "question1", "premise",
              "question", "#1 string", "string1", "review", "content", "comment", "document",
              "body", "utterance", "tweet", "message", "query", "文本", "句子", "内容", "评论",
              "句子1", "文本1")
# (first text, second text) name pairs of sentence-pair sets (GLUE MRPC/RTE/QQP/QNLI, SNLI, ...).
PAIR_NAMES = (("sentence1", "sentence2"), ("text_a", "text_b"), ("text1", "text2"),
              ("question1", "question2"), ("premise", "hypothesis"), ("#1 string", "#2 string"),
              ("string1", "string2"), ("text", "text_pair"), ("question", "sentence"),
              ("question", "passage"), ("sentence", "sentence2"), ("句子1", "句子2"),
              ("文本1", "文本2"))
ID_NAMES = ("id", "idx", "index", "guid", "uid", "#1 id", "#2 id", "unnamed: 0", "")
KNOWN_NAMES = set(LABEL_NAMES) | set(TEXT_NAMES) | {b for _, b in PAIR_NAMES} | set(ID_NAMES[:-1])

# Binary labels whose meaning is clear get the "positive" one as class 1, so binary precision,
# recall and F1 (positive = class 1) are about the class a person expects.
NEGATIVE_NAMES = {"negative", "neg", "no", "false", "0", "bad", "not_paraphrase", "different",
                  "not_duplicate", "not_entailment", "负面", "消极", "否", "差评", "不是"}
POSITIVE_NAMES = {"positive", "pos", "yes", "true", "1", "good", "paraphrase", "same",
                  "duplicate", "entailment", "正面", "积极", "是", "好评"}

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INT = re.compile(r"^[+-]?\d+$")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_HEADERLESS = re.compile(r"^column\s*(\d+)$", re.IGNORECASE)

# Signatures of binary formats people upload by mistake, with what to do instead.
_MAGIC = ((b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)", "save the sheet as CSV (UTF-8)"),
          (b"\xd0\xcf\x11\xe0", "an Office document (an old Excel .xls workbook?)", "save the sheet as CSV (UTF-8)"),
          (b"%PDF", "a PDF document", "export the table as CSV"),
          (b"\x1f\x8b", "gzip-compressed", "unpack it and upload the file inside"),
          (b"BZh", "bzip2-compressed", "unpack it and upload the file inside"),
          (b"PAR1", "a Parquet file", "export it as CSV or JSONL"),
          (b"SQLite format 3\x00", "an SQLite database", "export the table as CSV"),
          (b"\x89PNG", "a PNG image", ""), (b"\xff\xd8\xff", "a JPEG image", ""), (b"GIF8", "a GIF image", ""),
          (b"\x7fELF", "a program (ELF binary)", ""), (b"MZ", "a Windows program", ""))


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


@dataclass
class _Table:
    columns: list[str]
    rows: list[list[str]]
    row_numbers: list[int]
    has_header: bool
    format: str
    encoding: str
    path: str
    notices: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------ helpers


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _key(name: str) -> str:
    """A column name as compared with the usual names: trimmed, casefolded, '_' for spaces/dashes."""
    k = name.strip().casefold()
    return k if k.startswith("#") else re.sub(r"[\s\-]+", "_", k)


_KNOWN_KEYS = {_key(n) for n in KNOWN_NAMES}


def _is_number(v: str) -> bool:
    return bool(_NUMBER.match(v))


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _show(values: Iterable[str], limit: int = 12) -> str:
    vals = [repr(v) for v in values]
    more = f" and {len(vals) - limit} more" if len(vals) > limit else ""
    return ", ".join(vals[:limit]) + more


def _normalise_label(v: str) -> str:
    v = v.strip()
    # "1.0" (a float column saved by pandas) and "1" are the same class.
    if _NUMBER.match(v) and not _INT.match(v):
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


# ------------------------------------------------------------------------------ bytes -> text


def _check_binary(raw: bytes, path: str) -> None:
    for magic, what, hint in _MAGIC:
        if raw.startswith(magic):
            raise DataError(f"this is {what}, not a CSV, TSV, JSONL or JSON text file" + (f"; {hint}" if hint else ""),
                            path=path)


def _looks_like_gb_chinese(text: str) -> bool:
    """True when GB18030-decoded text reads like Chinese rather than misread Latin-1 or UTF-8.

    Chinese saved as GBK is mostly GB2312 characters (both bytes >= 0xA1). Text in another
    single-byte encoding that happens to decode (e.g. German "Brücke" in cp1252) lands in GBK's
    extension areas, which hold rare characters; so most non-ASCII characters must be GB2312 ones.
    """
    sample = [c for c in text[:400_000] if ord(c) > 127][:20_000]
    if not sample:
        return True
    common = 0
    for ch in sample:
        try:
            ch.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common / len(sample) >= 0.6


def _utf16_without_bom(raw: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when NUL bytes sit in every other position, as UTF-16 text of
    mostly ASCII characters (Windows "Unicode" text) does without a byte-order mark."""
    head = raw[:4096]
    if len(head) < 8 or len(head) % 2:
        return None
    even, odd = head[0::2], head[1::2]
    half = len(head) // 2
    if odd.count(0) > 0.6 * half and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) > 0.6 * half and odd.count(0) == 0:
        return "utf-16-be"
    return None


def _check_mixed_lines(raw: bytes, path: str) -> None:
    """Refuse a file whose lines are in different encodings (say UTF-8 lines pasted into a GBK file).

    A line that is valid UTF-8 and holds a character from U+0800 up (CJK is three bytes in UTF-8)
    is UTF-8: GBK text almost never forms such a line by chance. If the file also has lines that
    are not UTF-8, decoding it either way would garble part of it.
    """
    utf8_line = other_line = None
    for number, line in enumerate(raw.split(b"\n"), 1):
        if max(line, default=0) < 0x80:
            continue
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError:
            other_line = other_line or number
        else:
            if any(ord(c) >= 0x800 for c in decoded):
                utf8_line = utf8_line or number
        if utf8_line and other_line:
            raise DataError(f"mixes encodings: line {utf8_line} is UTF-8 but line {other_line} is not (GBK or "
                            "another encoding?). Open it in an editor and save it again as UTF-8", path=path)


def decode_text(raw: bytes, path: str) -> tuple[str, str, list[str]]:
    """(text, encoding, notices); DataError for text that cannot be decoded without guessing.
    UTF-8 (BOM or not), UTF-16/32 (BOM, or UTF-16 recognised without one), GB18030/GBK when the
    text reads as Chinese; mixed encodings and binary files are refused with the byte and line.
    Labeled data and pre-training corpora are both read through this."""
    notices: list[str] = []
    boms = ((b"\xef\xbb\xbf", "utf-8-sig", "UTF-8"), (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
            (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"), (b"\xff\xfe", "utf-16-le", "UTF-16"),
            (b"\xfe\xff", "utf-16-be", "UTF-16"))
    encoding = name = None
    for bom, enc, label in boms:
        if raw.startswith(bom):
            encoding, name, raw_body = enc, label, raw[len(bom):] if enc != "utf-8-sig" else raw
            break
    if encoding is None:
        guess = _utf16_without_bom(raw)
        if guess:
            encoding, name, raw_body = guess, f"UTF-16 ({guess[-2:].upper()}, no byte-order mark)", raw
    if encoding is not None:
        try:
            text = raw_body.decode(encoding)
        except UnicodeDecodeError as exc:
            off = exc.start + (len(raw) - len(raw_body))
            raise DataError(f"starts with a {name} byte-order mark but byte offset {off} is not valid {name}; "
                            "the file may be damaged — save it again as UTF-8", path=path) from None
        if "\x00" in text:
            raise DataError(f"contains NUL characters after decoding as {name}: this looks like a binary file",
                            path=path)
        if not encoding.startswith("utf-8"):
            notices.append(f"decoded as {name}")
        return text, encoding, notices

    nul = raw.find(b"\x00")
    if nul >= 0:
        raise DataError(f"contains NUL bytes (first at byte offset {nul}, line {_line_of(raw, nul)}): this looks "
                        "like a binary file, not CSV/TSV/JSON text. Save the data as text (UTF-8) and upload that",
                        path=path)
    try:
        return raw.decode("utf-8"), "utf-8", notices
    except UnicodeDecodeError as exc:
        bad = exc.start
    where = f"byte offset {bad} (line {_line_of(raw, bad)}, byte 0x{raw[bad]:02X})"
    # A UTF-8 file with a few stray bytes of another encoding (mixed encodings): valid multi-byte
    # UTF-8 characters outnumber the broken ones. GB18030 would "decode" it into nonsense, so stop.
    lenient = raw.decode("utf-8", errors="replace")
    broken = lenient.count("\ufffd")
    non_ascii = len(lenient) - len(lenient.encode("ascii", "ignore"))
    valid_multibyte = non_ascii - broken
    if valid_multibyte >= broken:
        raise DataError(f"is mostly UTF-8 but not valid UTF-8 at {where}: it mixes encodings or is damaged. "
                        "Open it in an editor and save it again as UTF-8", path=path)
    _check_mixed_lines(raw, path)
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None and _looks_like_gb_chinese(text):
        notices.append("decoded as GB18030/GBK (Chinese Windows encoding)")
        return text, "gb18030", notices
    raise DataError(f"is neither UTF-8 (first invalid byte at {where}) nor GBK/GB18030 Chinese text; "
                    "save it as UTF-8 (in Excel: 'CSV UTF-8') and upload it again", path=path)


def _check_controls(text: str, path: str) -> str:
    if text.endswith("\x1a"):  # DOS end-of-file marker some old tools still write
        text = text[:-1]
    controls = re.findall(r"[\x01-\x08\x0e-\x1f\x7f]", text[:1_000_000])
    if len(controls) > max(8, len(text[:1_000_000]) // 200):
        first = re.search(r"[\x01-\x08\x0e-\x1f\x7f]", text)
        line = text.count("\n", 0, first.start()) + 1
        raise DataError(f"contains {len(controls)} control characters (first on line {line}): this looks like a "
                        "binary file, not text", path=path)
    return text


# ------------------------------------------------------------------------------- text -> rows


def _json_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return ""
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False)  # a nested list/object is kept as its JSON text


def _records_to_table(records: list[tuple[int, dict]], path: str, max_cell_chars: int,
                      max_columns: int) -> tuple[list[str], list[list[str]], list[int]]:
    columns: dict[str, int] = {}
    for number, rec in records:
        for k in rec:
            if k not in columns:
                columns[k] = len(columns)
                if len(columns) > max_columns:
                    raise DataError(f"the records use more than {max_columns} different keys (columns); "
                                    "is this really a table of labeled examples?", path=path, row=number)
    names = list(columns)
    rows, numbers = [], []
    for number, rec in records:
        row = [""] * len(names)
        for k, v in rec.items():
            cell = _json_cell(v)
            if len(cell) > max_cell_chars:
                raise DataError(f"value is {len(cell):,} characters; the limit is {max_cell_chars:,} per cell",
                                path=path, row=number, column=k)
            row[columns[k]] = cell
        rows.append(row)
        numbers.append(number)
    return names, rows, numbers


def _type_name(v: Any) -> str:
    return {list: "a list", str: "a string", bool: "true/false", type(None): "null", int: "a number",
            float: "a number", dict: "an object"}.get(type(v), type(v).__name__)


def _parse_jsonl(text: str, path: str, max_cell_chars: int, max_columns: int):
    records = []
    for number, line in enumerate(text.split("\n"), 1):
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"line is not valid JSON ({exc.msg} at character {exc.colno}); JSONL needs one "
                            "JSON object per line", path=path, row=number) from None
        except RecursionError:
            raise DataError("JSON is nested too deeply", path=path, row=number) from None
        if not isinstance(rec, dict):
            raise DataError(f"line holds {_type_name(rec)}, not a JSON object like "
                            '{"text": "...", "label": "..."}', path=path, row=number)
        records.append((number, rec))
    return _records_to_table(records, path, max_cell_chars, max_columns)


def _parse_json(text: str, path: str, max_cell_chars: int, max_columns: int):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # several top-level values: JSON lines saved as .json
            return "jsonl", _parse_jsonl(text, path, max_cell_chars, max_columns)
        raise DataError(f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                        path=path) from None
    except RecursionError:
        raise DataError("JSON is nested too deeply", path=path) from None
    if isinstance(data, dict):
        lists = [k for k, v in data.items() if isinstance(v, list)]
        hint = f" (its key {lists[0]!r} holds a list: save that list on its own)" if lists else ""
        raise DataError("holds a JSON object, not a list of records; expected "
                        '[{"text": "...", "label": "..."}, ...] or one object per line (JSONL)' + hint, path=path)
    if not isinstance(data, list):
        raise DataError(f"holds {_type_name(data)}, not a list of records like "
                        '[{"text": "...", "label": "..."}, ...]', path=path)
    if not data:
        raise DataError("holds an empty list: there are no records", path=path)
    records = []
    for i, rec in enumerate(data, 1):
        if not isinstance(rec, dict):
            raise DataError(f"record {i} of the list is {_type_name(rec)}, not an object with column names",
                            path=path, row=i)
        records.append((i, rec))
    return "json", _records_to_table(records, path, max_cell_chars, max_columns)


def _sniff_delimiter(text: str, ext: str) -> str | None:
    """The delimiter that splits the first lines into the same number (> 1) of cells, or None."""
    lines = [ln for ln in text[:200_000].split("\n")[:60] if ln.strip()]
    if len(lines) > 1 and len(text) > 200_000:
        lines = lines[:-1]  # the sample may cut the last line short
    scores = {}
    for delim in ("\t", ",", ";", "|"):
        try:
            counts = [len(r) for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=delim) if r]
        except csv.Error:
            continue
        if not counts:
            continue
        mode, hits = Counter(counts).most_common(1)[0]
        if mode > 1 and hits >= 0.8 * len(counts):
            scores[delim] = (hits / len(counts), mode)
    preferred = {".tsv": "\t", ".tab": "\t", ".csv": ","}.get(ext)
    if preferred in scores:
        return preferred
    if scores:
        return max(scores, key=lambda d: scores[d])
    return preferred


def _parse_delimited(text: str, delimiter: str, path: str, max_cell_chars: int, max_columns: int):
    try:
        return _parse_quoted(text, delimiter, path, max_cell_chars, max_columns, csv.QUOTE_MINIMAL)
    except DataError:
        # GLUE/CLUE-style TSVs use no quoting at all: a review may start with a literal ". When every
        # line has the same number of tabs, read the file that way instead of refusing it.
        lines = [l for l in text.split("\n") if l.strip()]
        if delimiter != "\t" or len({l.count("\t") for l in lines}) != 1:
            raise
        return _parse_quoted(text, delimiter, path, max_cell_chars, max_columns, csv.QUOTE_NONE)


def _parse_quoted(text: str, delimiter: str, path: str, max_cell_chars: int, max_columns: int, quoting: int):
    # The csv module has a process-wide cell limit (128 KiB by default) and would stop with its own
    # message; lift it to our limit so our check below reports the row and column.
    if csv.field_size_limit() < max_cell_chars + 1:
        csv.field_size_limit(max_cell_chars + 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True, quoting=quoting)
    records: list[tuple[int, int, list[str]]] = []  # (first line, last line, cells)
    width = None
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            msg = str(exc)
            if "unexpected end of data" in msg or "EOF" in msg:
                raise DataError(f'a quoted cell opens on line {start} and is never closed (a stray " character?); '
                                'a quote inside a cell must be doubled ("")', path=path, row=start) from None
            if "expected after" in msg:
                raise DataError(f"malformed quoting on line {reader.line_num}: after a closing quote the "
                                'cell must end; write a quote inside a quoted cell as two ("")',
                                path=path, row=reader.line_num) from None
            if "field larger" in msg:
                raise DataError(f"a cell is over the limit of {max_cell_chars:,} characters",
                                path=path, row=start) from None
            raise DataError(f"cannot read line {reader.line_num}: {msg}", path=path, row=reader.line_num) from None
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue  # blank line
        if width is None:
            width = len(cells)
            if width > max_columns:
                raise DataError(f"the first row has {width:,} cells; at most {max_columns:,} columns are read. "
                                f"Is the delimiter right (read as {delimiter!r})?", path=path, row=start)
        elif len(cells) != width:
            # Trailing empty cells (a spreadsheet's stray delimiters at the end of a line) are harmless.
            if len(cells) > width and not any(c.strip() for c in cells[width:]):
                cells = cells[:width]
            else:
                span = f" (the record runs from line {start} to {reader.line_num}: an unclosed quote?)" \
                    if reader.line_num > start else ""
                hint = "; a delimiter inside a text needs the cell in double quotes" if len(cells) > width else ""
                raise DataError(f"has {len(cells)} cell{'s' if len(cells) != 1 else ''} but the first row has "
                                f"{width}{span}{hint}",
                                path=path, row=start)
        for j, c in enumerate(cells):
            if len(c) > max_cell_chars:
                raise DataError(f"cell is {len(c):,} characters; the limit is {max_cell_chars:,}",
                                path=path, row=start, column=f"column {j + 1}")
        records.append((start, reader.line_num, cells))
    return records


def _parse_lines(text: str, path: str, max_cell_chars: int):
    """A plain text file: one text per line, no quoting."""
    records = []
    for number, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        if len(line) > max_cell_chars:
            raise DataError(f"line is {len(line):,} characters; the limit is {max_cell_chars:,}",
                            path=path, row=number)
        records.append((number, number, [line]))
    return records


def _name_like(v: str) -> bool:
    """Could `v` be a column name? Names are short and are not sentences."""
    v = v.strip()
    if not v:
        return True
    if len(v) > 40 or len(v.split()) > 4 or (len(_CJK.findall(v)) > 8):
        return False
    return not re.search(r"[.!?。！？…,，;；]$", v)


def _guess_header(rows: list[list[str]]) -> tuple[bool, str]:
    """Is the first row a header? Returns (answer, why) for the notices.

    Evidence that it is data, not names: a cell that is a number (header names are words); a
    cell whose value occurs again in the same column below, in a column with few distinct values
    (a label such as "positive" repeats, a column name does not); a cell that reads like a
    sentence. Evidence for a header: a usual column name (text, label, sentence1, ...); a word
    above a column of numbers; a short name above a column of sentences. Undecided = header, since
    most files have one.
    """
    first = [c.strip() for c in rows[0]]
    rest = rows[1:2001]
    if not rest:
        return all(_name_like(c) and not _is_number(c) for c in first), "the file has a single row"
    score, why_data, why_header = 0, [], []
    for j, v in enumerate(first):
        if not v:
            continue
        col = [r[j].strip() for r in rest if j < len(r) and r[j].strip()]
        if _key(v) in _KNOWN_KEYS:
            score += 3
            why_header.append(f"{v!r} is a usual column name")
            continue
        if _is_number(v):
            score -= 3
            why_data.append(f"first-row value {v!r} is a number")
            continue
        if col and all(_is_number(c) for c in col):
            score += 2
            why_header.append(f"{v!r} stands above a column of numbers")
        elif col and v in set(col) and len(set(col)) <= max(10, len(col) // 2):
            score -= 3
            why_data.append(f"first-row value {v!r} occurs again in column {j + 1}")
        if not _name_like(v):
            score -= 2
            why_data.append(f"first-row value {v[:30]!r} reads like data, not a column name")
        elif col and sum(not _name_like(c) for c in col) > 0.8 * len(col):
            score += 1
            why_header.append(f"{v!r} is short above a column of sentences")
    named = [c for c in first if c]
    if len(set(named)) < len(named):
        score -= 1
        why_data.append("first-row values repeat")
    if score >= 0:
        return True, "; ".join(why_header) or "nothing suggests the first row is data"
    return False, "; ".join(why_data)


def _header_names(cells: list[str]) -> tuple[list[str], list[str]]:
    names, seen, notes = [], Counter(), []
    for j, c in enumerate(cells):
        name = c.strip() or f"column {j + 1}"
        seen[name] += 1
        if seen[name] > 1:
            notes.append(f"column {j + 1} repeats the name {name!r}; called {name} ({seen[name]}) here")
            name = f"{name} ({seen[name]})"
        names.append(name)
    return names, notes


def _read(path, *, max_bytes: int = MAX_BYTES, max_cell_chars: int = MAX_CELL_CHARS,
          max_columns: int = MAX_COLUMNS) -> _Table:
    path = str(path)
    p = Path(path)
    try:
        if p.is_dir():
            raise DataError("is a folder, not a file", path=path)
        size = p.stat().st_size
    except FileNotFoundError:
        raise DataError("file not found", path=path) from None
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror or exc})", path=path) from None
    if size == 0:
        raise DataError("the file is empty", path=path)
    if size > max_bytes:
        raise DataError(f"the file is {_size(size)}; the limit is {_size(max_bytes)}", path=path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror or exc})", path=path) from None
    if len(raw) > max_bytes:  # it grew since stat()
        raise DataError(f"the file is over the limit of {_size(max_bytes)}", path=path)
    _check_binary(raw, path)
    text, encoding, notices = decode_text(raw, path)
    text = _check_controls(text, path)
    if not text.strip():
        raise DataError("the file is empty (only whitespace)", path=path)

    ext = p.suffix.casefold()
    first = text.lstrip()[:1]
    if ext in (".jsonl", ".ndjson", ".jsonlines"):
        fmt = "jsonl"
    elif ext == ".json":
        fmt = "json"
    elif ext in (".csv", ".tsv", ".tab"):
        fmt = "delimited"
    elif first == "[":
        fmt = "json"
    elif first == "{":
        fmt = "jsonl"
    else:
        fmt = "delimited"

    if fmt in ("json", "jsonl"):
        if fmt == "json":
            fmt, (columns, rows, numbers) = _parse_json(text, path, max_cell_chars, max_columns)
        else:
            columns, rows, numbers = _parse_jsonl(text, path, max_cell_chars, max_columns)
        return _Table(columns, rows, numbers, True, fmt, encoding, path, notices)

    delimiter = _sniff_delimiter(text, ext)
    if delimiter is None:
        records, fmt = _parse_lines(text, path, max_cell_chars), "lines"
    else:
        records = _parse_delimited(text, delimiter, path, max_cell_chars, max_columns)
        fmt = {"\t": "tsv", ",": "csv"}.get(delimiter, f"csv (delimiter {delimiter!r})")
    if not records:
        raise DataError("the file is empty (no rows)", path=path)
    cells = [r[2] for r in records]
    has_header, why = _guess_header(cells)
    if has_header:
        columns, dup_notes = _header_names(cells[0])
        notices += dup_notes
        data = records[1:]
    else:
        columns = [f"column {j + 1}" for j in range(len(cells[0]))]
        notices.append(f"no header row: the first row looks like data ({why}); columns are called "
                       "'column 1', 'column 2', ...")
        data = records
    return _Table(columns, [r[2] for r in data], [r[0] for r in data], has_header, fmt, encoding, path, notices)


def read_table(path, *, max_bytes: int = MAX_BYTES, max_cell_chars: int = MAX_CELL_CHARS,
               max_columns: int = MAX_COLUMNS) -> tuple[list[str], list[list[str]], bool]:
    """(column names, data rows, has_header) of a CSV/TSV/JSONL/JSON file; DataError if unreadable.

    Every row has one cell (a string) per column. A header-only file gives no rows (load_labeled
    refuses it; preview shows it).
    """
    t = _read(path, max_bytes=max_bytes, max_cell_chars=max_cell_chars, max_columns=max_columns)
    return t.columns, t.rows, t.has_header


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
        numeric = sum(1 for v in vals if _is_number(v))
        words = sum(len(v.split()) + len(_CJK.findall(v)) / 2 for v in vals)
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
    return _key(name) in {_key(n) for n in ID_NAMES if n}


def _resolve_column(name: str, columns: list[str], role: str) -> str:
    """The column a user named: exact, then ignoring case/spaces, then 'column N' / 'N' (1-based)."""
    if name in columns:
        return name
    matches = [c for c in columns if _key(c) == _key(name)]
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
        by_key.setdefault(_key(c), c)

    if need_label and not chosen["label"]:
        # "label" and its close variants are taken on their name; looser names (class, target, y,
        # ...) only when the column also holds few distinct values.
        named = next((by_key[_key(n)] for n in LABEL_NAMES if _key(n) in by_key
                      and (n in STRONG_LABEL_NAMES or stats[by_key[_key(n)]].label_like)), None)
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
            if _key(first) in by_key and _key(second) in by_key and detect_pair and not chosen["text_pair"]:
                chosen["text"], chosen["text_pair"] = by_key[_key(first)], by_key[_key(second)]
                text_by_name = True
                break
        if not chosen["text"]:
            named = next((by_key[_key(n)] for n in TEXT_NAMES if _key(n) in by_key
                          and by_key[_key(n)] != chosen["text_pair"]), None)
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
        partner = next((b for a, b in PAIR_NAMES if _key(a) == _key(chosen["text"]) and _key(b) in by_key
                        and by_key[_key(b)] in free), None)
        if partner:
            chosen["text_pair"] = by_key[_key(partner)]
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
    t = _read(path, **limits)
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


def _single_class_problem(t: _Table, label_column: str | None) -> str | None:
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
    t = _read(path, **limits)
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
    t = _read(path, **limits)
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
