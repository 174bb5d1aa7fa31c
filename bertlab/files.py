"""Whole-file writes that readers never see half done, and JSON reads that survive damage.

The bottom layer: no bertlab imports. The run folder, the config, model overlays and the exported
defaults all write through `atomic_write_*`; readers of files a crash or a full disk may have cut
short use `read_json` / `read_json_object`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: str | Path, default: Any = None) -> Any:
    """The file's JSON, or `default` when it is missing, unreadable or not JSON (random bytes
    included: UnicodeDecodeError is a ValueError)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def read_json_object(path: str | Path) -> tuple[dict[str, Any], str]:
    """(the file's JSON object, "") or ({}, what is wrong with it). A run folder's files can be
    damaged (a full disk, a crash, a hand edit): readers show the damage instead of failing."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, f"{path.name} is missing"
    except OSError as exc:
        return {}, f"{path.name} cannot be read ({exc.strerror or exc})"
    except ValueError:
        return {}, f"{path.name} is not valid JSON"
    if not isinstance(data, dict):
        return {}, f"{path.name} holds a {type(data).__name__}, not a JSON object"
    return data, ""
