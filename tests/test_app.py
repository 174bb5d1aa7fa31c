"""The launcher and the running page.

app.py's flags and logins (flag, environment, file); the page launched on a free loopback port
and driven through gradio_client: fill-mask, classification and tokenization answer; several
sessions at once are all answered; fuzzed text and fuzzed upload files always get an answer while
the server keeps serving and no run is lost; --share offline says so quickly and keeps serving;
--demo refuses training and caps text, uploads, request bodies and the queue.
"""

from __future__ import annotations

import io
import json
import re
import random
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import app  # noqa: E402
from conftest import finished_run  # noqa: E402

from bertlab.training import runs  # noqa: E402
from bertlab.config import FinetuneConfig, TrainConfig  # noqa: E402
from bertlab.errors import BadInput  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lines(io.StringIO):
    """Captures what the launcher prints, with the time each line arrived."""

    def __init__(self):
        super().__init__()
        self.stamped: list[tuple[float, str]] = []

    def write(self, text):
        for line in text.splitlines():
            if line.strip():
                self.stamped.append((time.monotonic(), line))
        return super().write(text)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BERTLAB_RUNS", str(root / "runs"))
        mp.setenv("GRADIO_TEMP_DIR", str(root / "gradio"))
        mp.delenv("BERTLAB_AUTH", raising=False)
        mlm = finished_run(root / "runs", "20240101-000000-pretrain-mlm0", "masked-lm")
        clf = finished_run(root / "runs", "20240101-000000-finetune-clf0", "classification")
        yield SimpleNamespace(root=root, runs=root / "runs", mlm=mlm.name, clf=clf.name)


@pytest.fixture(scope="module")
def lab(site):
    """The lab page as `python app.py --share` starts it (on a free port, not blocking)."""
    from gradio import networking

    out = Lines()
    with pytest.MonkeyPatch.context() as mp:
        # Offline for sure, through Gradio's own code: its share server address refuses at once.
        mp.setattr(networking, "GRADIO_API_SERVER", f"http://127.0.0.1:{free_port()}/v3/tunnel-request")
        mp.delenv("GRADIO_SHARE_SERVER_ADDRESS", raising=False)
        demo = app.serve(app.parse_args(["--port", str(free_port()), "--share"]), out=out)
    yield SimpleNamespace(demo=demo, url=demo.local_url, out=out)
    demo.close()


@pytest.fixture(scope="module")
def public(site):
    """The same page as `python app.py --demo` starts it."""
    demo = app.serve(app.parse_args(["--port", str(free_port()), "--demo"]), out=Lines())
    yield SimpleNamespace(demo=demo, url=demo.local_url)
    demo.close()


def client(url, **kwargs):
    from gradio_client import Client

    return Client(url, verbose=False, **kwargs)


# ------------------------------------------------------------------------------ flags and logins


def test_help_lists_every_launch_flag():
    done = subprocess.run([sys.executable, str(ROOT / "app.py"), "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for flag in ("--host", "--port", "--share", "--auth", "--auth-file", "--demo", "127.0.0.1"):
        assert flag in done.stdout


def test_logins_come_from_flag_environment_or_file(tmp_path):
    args = app.parse_args(["--auth", "ann:pa:ss word"])
    assert app.read_auth(args, environ={}) == [("ann", "pa:ss word")]  # the password may hold ':'
    args = app.parse_args([])
    assert app.read_auth(args, environ={}) is None
    assert app.read_auth(args, environ={"BERTLAB_AUTH": "bob:secret"}) == [("bob", "secret")]
    logins = tmp_path / "logins"
    logins.write_text("# lab users\nann:one\n\n  bob:two  \n", encoding="utf-8")
    args = app.parse_args(["--auth-file", str(logins)])
    assert app.read_auth(args, environ={"BERTLAB_AUTH": "eve:three"}) == [
        ("eve", "three"), ("ann", "one"), ("bob", "two")]

    logins.write_text("ann:one\nbob-no-password\n", encoding="utf-8")
    with pytest.raises(BadInput) as info:
        app.read_auth(app.parse_args(["--auth-file", str(logins)]), environ={})
    assert "line 2" in str(info.value) and str(logins) in str(info.value)
    with pytest.raises(BadInput, match="--auth: expected user:password") as info:
        app.read_auth(app.parse_args(["--auth", "ann:"]), environ={})
    with pytest.raises(BadInput, match="BERTLAB_AUTH"):
        app.read_auth(app.parse_args([]), environ={"BERTLAB_AUTH": ":nouser"})
    with pytest.raises(BadInput, match="No such file"):
        app.read_auth(app.parse_args(["--auth-file", str(tmp_path / "missing")]), environ={})


def test_bad_login_flag_exits_2_without_echoing_the_password(capsys, monkeypatch):
    monkeypatch.delenv("BERTLAB_AUTH", raising=False)
    assert app.main(["--auth", "justtopsecretvalue"]) == 2
    err = capsys.readouterr().err
    assert "expected user:password" in err and "justtopsecretvalue" not in err


def test_binds_loopback_by_default(lab, monkeypatch):
    monkeypatch.delenv("BERTLAB_HOST", raising=False)
    assert app.parse_args([]).host == "127.0.0.1"
    assert lab.demo.server_name == "127.0.0.1"
    assert httpx.get(lab.url, timeout=10).status_code == 200
    # Another address of this machine does not reach the page.
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))  # no packet is sent; picks the outgoing interface
            address = probe.getsockname()[0]
    except OSError:
        address = ""
    if not address or address.startswith("127."):
        pytest.skip("this machine has no non-loopback address to try")
    with pytest.raises((httpx.ConnectError, httpx.ConnectTimeout)):
        httpx.get(f"http://{address}:{lab.demo.server_port}/", timeout=5)


# ------------------------------------------------------------------------------ share links


def test_share_without_network_says_so_quickly_and_keeps_serving(lab):
    lines = [line for _, line in lab.out.stamped]
    serving = next(t for t, line in lab.out.stamped if "serving on" in line)
    share = [(t, line) for t, line in lab.out.stamped if "share link" in line]
    assert share, lines
    when, line = share[0]
    assert when - serving < app.SHARE_WAIT_S, lines
    assert line.startswith("no share link: Gradio's share server could not be reached"), line
    assert "offline" in line and lab.url in line
    assert httpx.get(lab.url, timeout=10).status_code == 200
    assert client(lab.url).predict("我爱北京", "", "default-chinese", 0, True, 0, api_name="/tokenize")


def test_share_link_request_never_holds_the_page(lab):
    """A share server that never answers: give up after the wait, report a late link later."""
    fake = SimpleNamespace(server_name="127.0.0.1", server_port=lab.demo.server_port, share_token="t",
                           share_server_address=None, share_server_tls_certificate=None,
                           local_url=lab.url, share_url=None, share=False)
    release = threading.Event()

    def slow_tunnel(**kwargs):
        assert kwargs["local_port"] == lab.demo.server_port
        release.wait(10)
        return "http://abc123.gradio.live"

    out = Lines()
    started = time.monotonic()
    assert app.request_share_link(fake, timeout=0.5, setup=slow_tunnel, out=out) is None
    assert time.monotonic() - started < 2
    assert "no answer from Gradio's share server within 0.5 s" in out.getvalue()
    assert lab.url in out.getvalue()
    assert httpx.get(lab.url, timeout=10).status_code == 200
    release.set()
    deadline = time.monotonic() + 5
    while "late" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "share link (late): https://abc123.gradio.live" in out.getvalue()
    assert fake.share_url == "https://abc123.gradio.live"

    def refused(**kwargs):
        raise RuntimeError("Could not get share link from Gradio API Server.")

    out = Lines()
    assert app.request_share_link(fake, timeout=5, setup=refused, out=out) is None
    assert "could not be reached (RuntimeError: Could not get share link" in out.getvalue()


# ------------------------------------------------------------------------------ answering


def test_page_answers_fill_mask_classify_and_tokenize(site, lab):
    c = client(lab.url)
    names = c.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/fill_mask", "/tokenize", "/classify"} <= set(names)

    out = c.predict("the cat sat on the [MASK] .", site.mlm, "", 3, api_name="/fill_mask")
    masks = out[0]["a"]["masks"]
    assert len(masks) == 1 and len(masks[0]["candidates"]) == 3
    assert masks[0]["position"] == 6  # [CLS] the cat sat on the [MASK]

    label, message = c.predict("a great fun movie", "", site.clf, api_name="/classify")
    assert message == f"answered by **{site.clf}**"
    assert {row["label"] for row in label["confidences"]} == {"LABEL_0", "LABEL_1"}
    assert abs(sum(row["confidence"] for row in label["confidences"]) - 1) < 1e-4

    # "Why?": a heat strip over the words as typed, and the attributions as JSON.
    strip, target, explanation = c.predict("a great fun movie", "", site.clf, "", api_name="/classify_explain")
    assert "heat-strip" in strip and strip.count("class='attribution'") == 4
    assert [w["text"] for w in explanation["words"]] == ["a", "great", "fun", "movie"]
    assert explanation["target"] == explanation["label"] in ("LABEL_0", "LABEL_1")
    strip, _, explanation = c.predict("a great fun movie", "", site.clf, "LABEL_1", api_name="/classify_explain")
    assert explanation["target"] == "LABEL_1"
    strip, _, _ = c.predict("a great fun movie", "", site.clf, "nope", api_name="/classify_explain")
    assert "Cannot explain" in strip and "not one of this model" in strip

    summary, *_ = c.predict("我爱北京天安门", "", "default-chinese", 0, True, 0, api_name="/tokenize")
    assert summary.startswith("**7** characters") and "**9** BERT tokens" in summary  # one per character


def test_concurrent_sessions_are_all_answered(site, lab):
    """Six users at once, each in their own session, mixing fill-mask and classification."""
    sentences = ["the [MASK] sat on the mat .", "paris is the capital of [MASK] .",
                 "a really [MASK] film", "我爱[MASK]京"]

    def user(i):
        c = client(lab.url)
        answers = []
        for j in range(3):
            if (i + j) % 2:
                out = c.predict(sentences[(i + j) % 4], site.mlm, "", 2, api_name="/fill_mask")
                answers.append(("fill", len(out[0]["a"]["masks"][0]["candidates"])))
            else:
                label, _ = c.predict(f"review number {i} {j} was great", "", site.clf, api_name="/classify")
                answers.append(("classify", len(label["confidences"])))
        return answers

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(user, range(6)))
    assert len(results) == 6
    for answers in results:
        assert all(n == 2 for _, n in answers) and len(answers) == 3


FUZZ = [
    "",
    "   \t\r\n  ",
    "\x00\x01\x02\x07\x1b[31mred\x1b[0m [MASK] \x7f",
    "a" * 30_000,  # over the lab's 20,000-character cap
    "word " * 3_000 + "[MASK]",  # under the cap, far past the model's 128 positions
    "[MASK]" * 200,
    "[MASK",
    "<script>alert(1)</script> [MASK] <img src=x onerror=alert(1)>",
    "\u200b\u202e\ufeff zero width and right-to-left [MASK]",
    "😀👍🏽 emoji 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 [MASK] 𠀀𪚥",
    "=cmd|' /C calc'!A0 [MASK]",
]


def fuzz_texts() -> list[str]:
    rng = random.Random(9)
    planes = [(0x20, 0x7E), (0xA0, 0x2FF), (0x4E00, 0x9FFF), (0x0590, 0x06FF), (0x1F300, 0x1F6FF)]
    noise = []
    for _ in range(3):
        chars = [chr(rng.randint(*rng.choice(planes))) for _ in range(rng.randint(1, 400))]
        noise.append("".join(chars) + " [MASK]")
    return FUZZ + noise


def test_fuzzed_text_always_gets_an_answer_and_the_server_keeps_serving(site, lab):
    c = client(lab.url)
    problems = []
    for text in fuzz_texts():
        shown = repr(text[:40])
        try:
            out = c.predict(text, site.mlm, "", 3, api_name="/fill_mask")
            side = out[0]["a"]
            if "error" in side:
                assert "Cannot predict" in out[2] and side["error"], shown
            else:
                assert side["masks"] or side.get("notices"), shown
        except Exception as exc:  # an answer must come back as a result or a clear message
            problems.append(f"fill_mask {shown}: {type(exc).__name__}: {exc}")
        try:
            label, message = c.predict(text, "", site.clf, api_name="/classify")
            assert (label and message.startswith("answered by")) or ("Cannot classify" in message), shown
        except Exception as exc:
            problems.append(f"classify {shown}: {type(exc).__name__}: {exc}")
        try:
            summary, *_ = c.predict(text, "", "default-chinese", 0, True, 0, api_name="/tokenize")
            assert summary and ("BERT tokens" in summary or "Cannot tokenize" in summary), shown
        except Exception as exc:
            problems.append(f"tokenize {shown}: {type(exc).__name__}: {exc}")
    assert not problems, "\n".join(problems)
    # Text no browser should send but a script can: lone UTF-16 surrogates (gradio_client cannot
    # even encode them, so they go as JSON escapes). Each gets an answer, success or error.
    for api, data in surrogate_calls(site):
        event, _ = raw_call(lab.url, api, data)
        assert event in ("complete", "error"), (api, event)
    # Still serving, and still right.
    out = client(lab.url).predict("the cat sat on the [MASK] .", site.mlm, "", 3, api_name="/fill_mask")
    assert len(out[0]["a"]["masks"][0]["candidates"]) == 3


def weird_files(folder: Path) -> dict[str, Path]:
    rng = random.Random(3)
    contents = {
        "random-bytes.csv": bytes(rng.randrange(256) for _ in range(4000)),
        "empty.csv": b"",
        "only-header.csv": b"text,label\n",
        "long-line.txt": ("word " * 60_000).encode(),
        "mixed-encodings.csv": "text\ncafé au lait\n".encode() + "北京很好\n".encode("gbk") + b"\xff\xfe\n",
        "utf16.csv": "text\nhello there\n".encode("utf-16"),
        "many-columns.csv": (",".join(f"c{i}" for i in range(5000)) + "\n"
                             + ",".join("x" for _ in range(5000)) + "\n").encode(),
        "not-a-list.json": b'{"text": "a dict, not a list of rows"}',
        "broken.jsonl": b'{"text": "fine"}\n{"text": \n',
        "formulas.csv": b"text\n=1+1\n+cmd|' /C calc'!A0\n@SUM(A1)\n-2+3\n",
        "nul-bytes.tsv": b"text\tlabel\nab\x00cd\t1\n",
    }
    paths = {}
    for name, data in contents.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


def test_fuzzed_uploads_get_an_answer_and_no_run_is_lost(site, lab, tmp_path):
    from gradio_client import handle_file

    before = {r["run"]: r["state"] for r in runs.list_runs()}
    c = client(lab.url, download_files=str(tmp_path / "dl"))
    problems, answers = [], {}
    for name, path in weird_files(tmp_path).items():
        try:
            _, csv_path, message = c.predict(handle_file(str(path)), site.clf, "", api_name="/classify_file")
            answers[name] = (message, csv_path)
            if "rows classified" in message:
                assert csv_path and Path(csv_path).exists(), name
            else:
                assert "Cannot classify the file" in message and len(message) > 30, (name, message)
        except Exception as exc:
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
    assert not problems, "\n".join(problems)
    assert answers["formulas.csv"][0].startswith("4 rows classified by")
    # The predictions CSV opens in a spreadsheet: no cell may start a formula.
    cells = [row.split(",")[0] for row in
             Path(answers["formulas.csv"][1]).read_text(encoding="utf-8-sig").splitlines()[1:]]
    assert cells and not [cell for cell in cells if cell[:1] in "=+@-"], cells
    assert "empty" in answers["empty.csv"][0] and "JSON object" in answers["not-a-list.json"][0]
    assert {r["run"]: r["state"] for r in runs.list_runs()} == before
    label, _ = c.predict("still here", "", site.clf, api_name="/classify")
    assert len(label["confidences"]) == 2


def surrogate_calls(site):
    text = "lone \ud800 surrogate [MASK]"
    return [("fill_mask", [text, site.mlm, "", 3]), ("classify", [text, "", site.clf]),
            ("tokenize", [text, "", "default-chinese", 0, True, 0])]


def raw_call(url: str, api: str, data: list) -> tuple[str, object]:
    """One call through Gradio's /call API with a body we encode ourselves: (event, payload)."""
    body = json.dumps({"data": data})  # ensure_ascii: anything travels, as \u escapes
    posted = httpx.post(f"{url}gradio_api/call/{api}", content=body,
                        headers={"content-type": "application/json"}, timeout=30)
    assert posted.status_code == 200, posted.text
    stream = httpx.get(f"{url}gradio_api/call/{api}/{posted.json()['event_id']}", timeout=60).text
    event, payload = "", None
    for line in stream.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            payload = json.loads(line.split(":", 1)[1])
    return event, payload


def test_lone_surrogates_get_a_clear_message(site, lab):
    for api, data in surrogate_calls(site):
        event, payload = raw_call(lab.url, api, data)
        shown = json.dumps(payload)
        assert event == "complete", (api, shown)  # answered by bertlab, not a crash in the handler
        assert "surrogate" in shown or "invalid character" in shown, (api, shown)


def test_over_long_text_is_refused_with_the_limit(site, lab):
    c = client(lab.url)
    out = c.predict("a " * 15_000 + "[MASK]", site.mlm, "", 3, api_name="/fill_mask")
    assert "30006 characters" in out[2] and "20000" in out[2]
    _, message = c.predict("b" * 20_001, "", site.clf, api_name="/classify")
    assert "20001 characters" in message and "limit" in message


# ------------------------------------------------------------------------------ public demo


def test_page_answers_each_language_with_its_default_and_escapes_hostile_model_names(site, lab, public):
    c = client(lab.url)
    out = c.predict("北京是中国的首[MASK]。", "auto", "", 3, api_name="/fill_mask")
    assert out[0]["a"]["model"] == "default-chinese" and "default-chinese" in out[2]
    out = c.predict("The capital of France is [MASK].", "auto", "", 3, api_name="/fill_mask")
    assert out[0]["a"]["model"] == "default"
    out = c.predict("北京是中国的首[MASK]。", "default", "", 3, api_name="/fill_mask")
    assert "choose default-chinese" in out[2]  # an English model on Chinese text: the hint
    label, message = c.predict("房间很干净，服务也很周到。", "", "auto", api_name="/classify")
    assert "default-sentiment-chinese" in message

    # A model name from a link (?model=...) or a form, written to break out of Markdown.
    hostile = "x` <img src=http://127.0.0.1:9/p.png> [log in](http://127.0.0.1:9/) <form><input type=password>"
    for url in (lab.url, public.url):
        page = client(url)
        message = page.predict("the cat [MASK] .", hostile, "", 3, api_name="/fill_mask")[2]
        _, classified = page.predict("fine", "", hostile, api_name="/classify")
        for shown in (message, classified):
            assert "<img" not in shown and "<form" not in shown, shown
            assert not re.search(r"(?<!\\)\]\(http", shown) and "\\`" in shown, shown  # link and code span escaped
            assert "&lt;img" in shown  # shown as text, so the user sees what was asked


def test_demo_refuses_training_from_the_page(site, public):
    assert public.demo.bertlab_service.demo
    before = sorted(p.name for p in site.runs.iterdir())
    c = client(public.url)
    # File inputs have no default in the API: the data files and the accelerate config are given.
    message, *_ = c.predict(None, None, param_19=None, api_name="/finetune_start")
    assert "switched off" in message
    message, *_ = c.predict(param_1=None, param_17=None, api_name="/pretrain_start")
    assert "switched off" in message
    with pytest.raises(BadInput, match="switched off"):
        public.demo.bertlab_service.start_run(TrainConfig(finetune=FinetuneConfig(train="x.csv")))
    assert sorted(p.name for p in site.runs.iterdir()) == before  # no run folder was made


def test_demo_keeps_inference_open_and_caps_text_uploads_bodies_and_queue(site, lab, public):
    c = client(public.url)
    out = c.predict("the cat sat on the [MASK] .", site.mlm, "", 3, api_name="/fill_mask")
    assert len(out[0]["a"]["masks"][0]["candidates"]) == 3
    label, _ = c.predict("fine", "", site.clf, api_name="/classify")
    assert len(label["confidences"]) == 2
    assert "BERT tokens" in c.predict("我爱北京", "", "default-chinese", 0, True, 0, api_name="/tokenize")[0]

    # Text: 2,000 characters in the demo (the lab allows 20,000).
    out = c.predict("x " * 1_200 + "[MASK]", site.mlm, "", 3, api_name="/fill_mask")
    assert "limit here is 2000" in out[2]
    # Uploads: gradio's max_file_size (2 MB) answers 413 before the file is kept.
    big = {"files": ("big.csv", b"text,label\n" + b"x" * (3 * 1024 * 1024), "text/csv")}
    response = httpx.post(f"{public.url}gradio_api/upload", files=big, timeout=30)
    assert response.status_code == 413
    small = {"files": ("small.csv", b"text,label\nfine,1\n", "text/csv")}
    assert httpx.post(f"{public.url}gradio_api/upload", files=small, timeout=30).status_code == 200
    # Request bodies: a JSON call far beyond any allowed text is refused before it is parsed.
    body = json.dumps({"data": ["y" * (app.MAX_BODY_BYTES[True] + 10), site.mlm, "", 3]})
    response = httpx.post(f"{public.url}gradio_api/call/fill_mask", content=body,
                          headers={"content-type": "application/json"}, timeout=30)
    assert response.status_code == 413
    # Queue: at most 32 waiting requests in the demo (the lab keeps 256).
    assert public.demo._queue.max_size == app.QUEUE_MAX[True] == 32
    assert lab.demo._queue.max_size == app.QUEUE_MAX[False]
    assert public.demo.max_file_size == 2 * 1024 * 1024
    # Still serving.
    assert len(c.predict("fine", "", site.clf, api_name="/classify")[0]["confidences"]) == 2


def test_only_a_page_for_this_machine_alone_publishes_with_the_servers_hub_login(lab, public, monkeypatch):
    """With --share (or --demo, or a non-loopback --host) every visitor could otherwise publish a
    Space under the owner's Hugging Face account: such a page needs a token typed in."""
    assert lab.demo.bertlab_service.hub_login_allowed is False  # --share
    assert public.demo.bertlab_service.hub_login_allowed is False  # --demo
    local = app.serve(app.parse_args(["--port", str(free_port())]), out=Lines())
    try:
        assert local.bertlab_service.hub_login_allowed is True
    finally:
        local.close()
