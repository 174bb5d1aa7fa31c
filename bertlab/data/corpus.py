"""Raw text in: decoding, document layout, sentence splitting.

Layout, per file (as google-research/bert's create_pretraining_data expects): if blank lines
separate blocks, each block is a document with one sentence or paragraph per line; otherwise each
line is a document. Sentences are split at . ! ? (English) and 。！？； (Chinese).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import DataError

# A sentence ends at . ! ? (followed by space or end, allowing closing quotes/brackets) or at the
# Chinese full stops 。！？； (no space needed). Abbreviations like "Mr." are split too: an accepted
# simplification, since NSP only needs roughly sentence-sized segments.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?])(?=[^”’\"')\]」』。！？；!?])|(?<=[.!?][\"'”’)\]])\s+|(?<=[.!?])\s+")


def decode_bytes(data: bytes, path: str) -> str:
    """The text of a corpus file, decoded as uploaded labeled data is (bertlab.data.table.decode_text):
    UTF-8/UTF-16/GB18030 detected, anything else refused with the byte offset and line."""
    from .table import decode_text

    return decode_text(data, path)[0]


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _read_bytes(path: str | Path) -> bytes:
    """A corpus file's bytes, or DataError naming the file and what is wrong."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError("corpus file not found", path=str(path)) from None
    except IsADirectoryError:
        raise DataError("is a folder; give text files", path=str(path)) from None
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror}", path=str(path)) from None


def read_documents(path: str | Path) -> list[list[str]]:
    """One file -> documents, each a list of sentences."""
    path = Path(path)
    data = _read_bytes(path)
    text = decode_bytes(data, str(path)).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    blank_separated = any(not l.strip() for l in lines[1:-1]) and sum(1 for l in lines if l.strip()) > 1
    documents: list[list[str]] = []
    if blank_separated:
        current: list[str] = []
        for line in lines:
            if line.strip():
                current.extend(split_sentences(line))
            elif current:
                documents.append(current)
                current = []
        if current:
            documents.append(current)
    else:
        for line in lines:
            sentences = split_sentences(line)
            if sentences:
                documents.append(sentences)
    return documents


def read_corpus(paths: list[str]) -> list[list[str]]:
    if not paths:
        raise DataError("no corpus given: pass one or more UTF-8 text files (--corpus FILE ...)")
    documents = []
    for path in paths:
        documents.extend(read_documents(path))
    return documents


def corpus_stats(documents: list[list[str]]) -> dict[str, int]:
    return {"documents": len(documents), "sentences": sum(len(d) for d in documents),
            "characters": sum(len(s) for d in documents for s in d)}


def check_corpus_files(paths: list[str]) -> None:
    """DataError naming the first file that cannot be pre-trained on (missing, a folder, binary or
    undecodable, no text at all), before any run is made for it."""
    if not paths:
        raise DataError("no corpus given: pass one or more UTF-8 text files (--corpus FILE ...)")
    from .table import _check_binary

    for path in paths:
        data = _read_bytes(path)
        if not data.strip():
            raise DataError("the file is empty: a corpus needs text", path=str(path))
        _check_binary(data, str(path))
        if not decode_bytes(data, str(path)).strip():
            raise DataError("the file holds no text", path=str(path))
