"""python -m bertlab export-demo RUN --out DIR [--title T] [--examples F] [--push-to-hub NAME]

Writes a finished run as a self-contained demo folder (app.py, model/, requirements.txt, a README
a Hugging Face Space reads) that runs without bertlab; with --push-to-hub, uploads it as a Space.
Offline (or without a token) the folder is still written and the upload is refused in one line,
exit code 2. See bertlab/publish.py.
"""

from __future__ import annotations

HELP = "write a finished run as a small stand-alone Gradio demo (and publish it as a Hugging Face Space)"


def add_arguments(parser):
    parser.add_argument("run", help="a finished run: its id under the runs folder, or its folder")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write (new or empty)")
    parser.add_argument("--title", default=None, help="the page's and the Space's title")
    parser.add_argument("--examples", default=None, metavar="F",
                        help="examples for the page: a text file (one per line) or a CSV/TSV/JSONL "
                             "(default: a few short rows of the run's validation data; for a "
                             "pre-training run, corpus sentences with a word masked)")
    parser.add_argument("--license", default=None, metavar="ID",
                        help="licence for the Space's README (e.g. apache-2.0); default: from the "
                             "data and model cards, else 'other'")
    parser.add_argument("--force", action="store_true",
                        help="write into a non-empty --out, replacing the demo's files there")
    parser.add_argument("--push-to-hub", default=None, metavar="NAME",
                        help="also upload the folder as a Gradio Space NAME (user/space); needs network "
                             "and a token (HF_TOKEN or `hf auth login`)")
    parser.add_argument("--private", action="store_true", help="with --push-to-hub: a private Space")
    parser.add_argument("--json", action="store_true", help="print what was written as one JSON object")


def run(args) -> int:
    from ..cli import print_json
    from ..errors import BadInput
    from ..publish import PublishError, export_demo, push_to_hub

    result = export_demo(args.run, args.out, title=args.title, examples=args.examples,
                         license=args.license, force=args.force)
    if args.push_to_hub:
        try:
            result.update(push_to_hub(result["out"], args.push_to_hub, private=args.private))
        except PublishError as exc:
            # One line, exit 2: the folder is there, only the upload did not happen.
            raise BadInput(f"{exc}; the folder is written at {result['out']}") from None
    if args.json:
        print_json(result)
        return 0
    what = ("classification (labels: " + ", ".join(result["labels"]) + ")"
            if result["task"] == "text-classification" else "fill-mask")
    print(f"wrote {result['out']}: app.py, demo.json, requirements.txt, README.md, model/ "
          f"({result['model_bytes'] / 2 ** 20:.1f} MB)")
    print(f"demo:     {what}, titled {result['title']!r}")
    print(f"examples: {result['examples']} from {result['examples_from']}")
    print(f"licence:  {result['license']} ({result['license_note']})")
    print(f"try it:   cd {result['out']} && pip install -r requirements.txt && python app.py")
    if result.get("url"):
        print(f"space:    {result['url']}")
    else:
        print("publish:  add --push-to-hub user/space-name (with HF_TOKEN set or after `hf auth login`)")
    return 0
