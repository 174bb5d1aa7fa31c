"""python -m bertlab models [--json] | models --resolve NAME [--json]"""

from __future__ import annotations

HELP = "list the models available now, or resolve one name and say what it is"


def add_arguments(parser):
    parser.add_argument("--resolve", metavar="NAME", help="load NAME and print what it is (exit 2 if it cannot be resolved)")
    parser.add_argument("--task", default=None, help="only models usable for this command (fill-mask, classify, ...)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    from ..modeling import registry
    from ..cli import print_json

    if args.resolve:
        info = registry.describe(args.resolve, args.task or "fill-mask").to_dict()
        if args.json:
            print_json(info)
        else:
            for key, value in info.items():
                if value not in ("", [], 0) or key in ("heads",):
                    print(f"{key:13} {', '.join(value) if isinstance(value, list) else value}")
        return 0
    rows = registry.list_models(args.task)
    if args.json:
        print_json(rows)
        return 0
    print(f"{'name':40} {'kind':8} {'heads':30} description")
    for row in rows:
        print(f"{row['name'][:40]:40} {row['kind']:8} {','.join(row['heads'])[:30]:30} {row['description']}")
    return 0
