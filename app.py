"""Start the bertlab page: python app.py [--host H] [--port P] [--share] [--auth user:pass] [--demo]"""

from __future__ import annotations

import argparse
import os
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="bertlab: a browser lab for BERT")
    parser.add_argument("--host", default=os.environ.get("BERTLAB_HOST", "127.0.0.1"),
                        help="interface to bind (default 127.0.0.1; 0.0.0.0 = all interfaces)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BERTLAB_PORT", "7860")))
    parser.add_argument("--share", action="store_true", help="ask Gradio for a public share link")
    parser.add_argument("--auth", default=None,
                        help="user:password protecting the page (or BERTLAB_AUTH, or --auth-file)")
    parser.add_argument("--auth-file", default=None, help="file with one user:password per line")
    parser.add_argument("--demo", action="store_true",
                        help="public demo: inference tabs only, training switched off, inputs capped")
    return parser.parse_args(argv)


def read_auth(args) -> list[tuple[str, str]] | None:
    entries = []
    raw = args.auth or os.environ.get("BERTLAB_AUTH")
    if raw:
        entries.append(raw)
    if args.auth_file:
        with open(args.auth_file, encoding="utf-8") as handle:
            entries.extend(line.strip() for line in handle if line.strip() and not line.startswith("#"))
    pairs = []
    for entry in entries:
        user, sep, password = entry.partition(":")
        if not sep or not user or not password:
            sys.exit("error: --auth must look like user:password")
        pairs.append((user, password))
    return pairs or None


def create_demo(demo_mode: bool = False):
    from bertlab.service import Service
    from bertlab.ui.app import build_app

    return build_app(Service(demo=demo_mode))


def main(argv=None):
    args = parse_args(argv)
    auth = read_auth(args)
    demo = create_demo(args.demo)
    demo.queue(default_concurrency_limit=4, max_size=32 if args.demo else 256)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, auth=auth,
                show_error=True)


if __name__ == "__main__":
    main()
