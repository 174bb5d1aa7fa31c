"""`python -m bertlab <command>`: one sub-command per module in bertlab/commands/.

Each command module defines HELP (one line), `add_arguments(parser)` and `run(args) -> int`.
Modules import torch only inside `run`, so `--help` and argument errors are instant.
Exit codes: 0 success, 2 bad input (one clear line on stderr, no traceback), 1 internal error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from .errors import BadInput

COMMANDS = {
    "models": "models",
    "pretrain": "pretrain",
    "finetune": "finetune",
    "fill-mask": "fill_mask",
    "classify": "classify",
    "tokenize": "tokenize",
    "evaluate": "evaluate",
    "runs": "runs",
    "export-demo": "export_demo",
    "export-onnx": "export_onnx",
    "worker": "worker",  # internal: runs a saved run config in this process (used by the page)
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bertlab",
                                     description="bertlab: pre-train, fine-tune and explore BERT.")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    sub.required = True
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f".commands.{module_name}", __package__)
        kwargs = {"help": module.HELP} if name != "worker" else {}
        cmd = sub.add_parser(name, description=module.HELP, **kwargs)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    args._argv = list(sys.argv[1:] if argv is None else argv)  # to re-run the command under a launcher
    try:
        return int(args._run(args) or 0)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False))
