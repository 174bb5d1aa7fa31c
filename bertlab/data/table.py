"""Bytes in, table out: read a CSV / TSV / JSONL / JSON file a person uploaded into named columns
of string cells, and refuse anything unreadable with a message that says where. Which columns hold
the text and the label is decided afterwards (bertlab.data.labeled).

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
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataError

MAX_BYTES = 200 * 1024 * 1024
MAX_CELL_CHARS = 100_000
MAX_COLUMNS = 1000

# Usual column names, compared after casefolding and trimming (`column_key`): the header guess
# takes a first row of them for a header, and column detection (labeled.py) prefers them. Order
# matters within each tuple: the first name that a file has wins.
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

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

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
class Table:
    """A file read whole: column names, rows of string cells, and how it was read."""

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


def column_key(name: str) -> str:
    """A column name as compared with the usual names: trimmed, casefolded, '_' for spaces/dashes."""
    k = name.strip().casefold()
    return k if k.startswith("#") else re.sub(r"[\s\-]+", "_", k)


_KNOWN_KEYS = {column_key(n) for n in KNOWN_NAMES}


def is_number(v: str) -> bool:
    return bool(_NUMBER.match(v))


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


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
    if len(v) > 40 or len(v.split()) > 4 or (len(CJK.findall(v)) > 8):
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
        return all(_name_like(c) and not is_number(c) for c in first), "the file has a single row"
    score, why_data, why_header = 0, [], []
    for j, v in enumerate(first):
        if not v:
            continue
        col = [r[j].strip() for r in rest if j < len(r) and r[j].strip()]
        if column_key(v) in _KNOWN_KEYS:
            score += 3
            why_header.append(f"{v!r} is a usual column name")
            continue
        if is_number(v):
            score -= 3
            why_data.append(f"first-row value {v!r} is a number")
            continue
        if col and all(is_number(c) for c in col):
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


def read_file(path, *, max_bytes: int = MAX_BYTES, max_cell_chars: int = MAX_CELL_CHARS,
          max_columns: int = MAX_COLUMNS) -> Table:
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
        return Table(columns, rows, numbers, True, fmt, encoding, path, notices)

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
    return Table(columns, [r[2] for r in data], [r[0] for r in data], has_header, fmt, encoding, path, notices)


def read_table(path, *, max_bytes: int = MAX_BYTES, max_cell_chars: int = MAX_CELL_CHARS,
               max_columns: int = MAX_COLUMNS) -> tuple[list[str], list[list[str]], bool]:
    """(column names, data rows, has_header) of a CSV/TSV/JSONL/JSON file; DataError if unreadable.

    Every row has one cell (a string) per column. A header-only file gives no rows (load_labeled
    refuses it; preview shows it).
    """
    t = read_file(path, max_bytes=max_bytes, max_cell_chars=max_cell_chars, max_columns=max_columns)
    return t.columns, t.rows, t.has_header
