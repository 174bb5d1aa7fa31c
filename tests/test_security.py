"""A shared page hands out only what a user should download.

A real app on a free 127.0.0.1 port, launched as `app.py --auth ...`: without a login nothing
answers; with one, the model zip of a finished run and a predictions CSV download, while every
other path — /etc/passwd, the project's own files, run folders, files outside them, `..` in plain,
%2f-encoded and double-encoded forms, remote URLs — returns no file content on any of Gradio's
file routes, and neither uploads nor API file inputs can reach outside Gradio's upload folder.
Requests are sent with http.client so that paths go out exactly as written (no normalising).
"""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import socket
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import app  # noqa: E402
from conftest import write_tiny_model  # noqa: E402

from bertlab.training import runs  # noqa: E402
from bertlab.config import TrainConfig  # noqa: E402

USER, PASSWORD = "ann", "correct horse:battery"
RUN = "20240101-000000-finetune-good"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A runs folder with one finished run, a secret outside it, and the page launched with a login."""
    root = tmp_path_factory.mktemp("sec")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BERTLAB_RUNS", str(root / "runs"))
        mp.setenv("GRADIO_TEMP_DIR", str(root / "gradio"))
        mp.setenv("BERTLAB_AUTH", f"{USER}:{PASSWORD}")  # the way a password stays out of history
        run = root / "runs" / RUN
        write_tiny_model(run / "final", "classification")
        TrainConfig(task="finetune", out=str(run), model="RUN-CONFIG-MARKER").save(run / "run_config.json")
        runs.write_status(run, "finished", "finished 10 steps", pid=None)
        outside = root / "outside"
        outside.mkdir()
        (outside / "secret.txt").write_text("OUTSIDE-SECRET-MARKER\n")
        # A folder outside the runs folder that looks like a finished run.
        write_tiny_model(outside / "final", "classification")
        TrainConfig(task="finetune", out=str(outside), model="OUTSIDE-RUN-MARKER").save(
            outside / "run_config.json")
        runs.write_status(outside, "finished", "finished", pid=None)
        demo = app.serve(app.parse_args(["--port", str(free_port())]), out=io.StringIO())
        try:
            yield SimpleNamespace(root=root, run=run, outside=outside, demo=demo, url=demo.local_url,
                                  port=demo.server_port, upload_dir=Path(demo.server_app.uploaded_file_dir))
        finally:
            demo.close()


@pytest.fixture(scope="module")
def cookie(site):
    """The session cookie of a logged-in user."""
    response = httpx.post(f"{site.url}login", data={"username": USER, "password": PASSWORD}, timeout=10)
    assert response.status_code == 200, response.text
    return "; ".join(f"{k}={v}" for k, v in response.cookies.items())


def raw_get(port: int, path: str, cookie: str = "") -> tuple[int, bytes]:
    """GET `path` exactly as written (http.client does not resolve `..` or re-encode)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def markers() -> dict[str, str]:
    """Strings that appear only inside files that must never be served."""
    found = {"run config": "RUN-CONFIG-MARKER", "outside secret": "OUTSIDE-SECRET-MARKER",
             "outside run": "OUTSIDE-RUN-MARKER",
             "app.py": "What makes a shared page safe is decided here",
             "bertlab/service.py": "The small facade the web page talks to",
             "model config": "BertForSequenceClassification"}
    passwd = Path("/etc/passwd")
    if passwd.exists():
        found["/etc/passwd"] = passwd.read_text(errors="replace").splitlines()[0][:20]
    return found


def leaked(body: bytes) -> list[str]:
    text = body.decode("utf-8", errors="replace")
    return [name for name, marker in markers().items() if marker in text]


# ------------------------------------------------------------------------------ the login


def test_without_login_nothing_answers(site):
    from gradio_client import Client

    for path in ("/config", "/gradio_api/info", f"/gradio_api/file={site.run}/run_config.json"):
        status, body = raw_get(site.port, path)
        assert status == 401, (path, status)
        assert not leaked(body)
    # The page itself answers with the login form, and nothing of the API (endpoints, run ids).
    status, page = raw_get(site.port, "/")
    assert status == 200 and b"window.gradio_api_info = null;" in page
    assert RUN.encode() not in page and b"classify" not in page
    response = httpx.post(f"{site.url}gradio_api/call/classify", json={"data": ["hi", "", RUN]}, timeout=10)
    assert response.status_code == 401
    assert httpx.post(f"{site.url}gradio_api/upload", files={"files": ("a.txt", b"x")},
                      timeout=10).status_code == 401
    with pytest.raises(Exception):
        Client(site.url, verbose=False)
    with pytest.raises(Exception):
        Client(site.url, verbose=False, auth=(USER, "wrong password"))
    label, _ = Client(site.url, verbose=False, auth=(USER, PASSWORD)).predict(
        "a great film", "", RUN, api_name="/classify")
    assert {row["label"] for row in label["confidences"]} == {"LABEL_0", "LABEL_1"}


# ------------------------------------------------------------------------------ what is served


def test_after_login_the_page_carries_its_api_description(site, cookie):
    status, page = raw_get(site.port, "/", cookie=cookie)
    assert status == 200 and b"window.gradio_api_info = null;" not in page and b"/classify" in page


def test_model_zip_and_predictions_csv_download(site, cookie, tmp_path):
    from gradio_client import Client, handle_file

    c = Client(site.url, verbose=False, auth=(USER, PASSWORD), download_files=str(tmp_path / "dl"))
    zip_path, _ = c.predict(RUN, api_name="/finetune_download")
    if isinstance(zip_path, dict):  # returned as gr.File(value=..., visible=True)
        zip_path = zip_path["value"]
    with zipfile.ZipFile(zip_path) as archive:
        assert "config.json" in archive.namelist() and "model.safetensors" in archive.namelist()

    data = tmp_path / "texts.csv"
    data.write_text("text\na great film\nan awful plot\n", encoding="utf-8")
    table, csv_path, message = c.predict(handle_file(str(data)), RUN, "", api_name="/classify_file")
    assert message.startswith("2 rows classified by")
    assert Path(csv_path).read_text(encoding="utf-8-sig").splitlines()[0].startswith("text,label,score")

    # The same files over plain HTTP, where the page's links point: served from Gradio's cache,
    # only with a login.
    served = [Path(p) for p in site.upload_dir.rglob("*")
              if p.name.endswith(("-model.zip", "predictions.csv"))]
    assert {p.suffix for p in served} == {".zip", ".csv"}
    for path in served:
        status, body = raw_get(site.port, f"/gradio_api/file={path}", cookie)
        assert status == 200 and body == path.read_bytes()
        assert raw_get(site.port, f"/gradio_api/file={path}")[0] == 401


def file_requests(site) -> list[str]:
    project_files = [ROOT / "app.py", ROOT / "bertlab" / "service.py"]
    targets = ["/etc/passwd", str(site.outside / "secret.txt"), str(site.run / "run_config.json"),
               str(site.run / "final" / "config.json"), str(site.outside / "run_config.json"),
               *map(str, project_files), "app.py", "bertlab/service.py", "./app.py", "~/.bashrc"]
    up = str(site.upload_dir)
    depth = "../" * (len(site.upload_dir.parts) + 2)
    traversals = [f"{up}/{depth}etc/passwd", f"{up}/{depth}{str(site.outside).lstrip('/')}/secret.txt",
                  f"{up}/{depth}{str(ROOT).lstrip('/')}/app.py", f"{up}/../../outside/secret.txt"]
    paths = []
    for target in targets + traversals:
        for route in ("/gradio_api/file=", "/file=", "/gradio_api/file/"):
            paths.append(route + target)
            paths.append(route + quote(target, safe=""))  # every / as %2f, every . kept
    encoded_dots = [
        f"/gradio_api/file={up}/" + "..%2f" * 12 + "etc/passwd",
        f"/gradio_api/file={up}/" + "%2e%2e%2f" * 12 + "etc/passwd",
        f"/gradio_api/file={up}/" + "%252e%252e%252f" * 12 + "etc/passwd",
        f"/gradio_api/file={up}/" + "..%5c" * 12 + "etc/passwd",
        f"/gradio_api/file={up}/" + "%2e%2e/" * 12 + str(ROOT).lstrip("/") + "/app.py",
        "/gradio_api/file=%2fetc%2fpasswd",
        "/static/" + "..%2f" * 12 + "etc/passwd",
        "/static/" + "../" * 12 + "etc/passwd",
        "/assets/" + "..%2f" * 12 + "etc/passwd",
        "/gradio_api/static/" + "%2e%2e%2f" * 12 + "etc/passwd",
        "/assets/" + "%2e%2e%2f" * 12 + str(ROOT).lstrip("/") + "/app.py",
        "/favicon.ico/../../etc/passwd",
        # remote fetches, pointed back at this server to read a file through it
        f"/gradio_api/file=http://127.0.0.1:{site.port}/gradio_api/file=/etc/passwd",
        f"/gradio_api/file=HTTP://localhost:{site.port}/config",
        f"/gradio_api/proxy=http://127.0.0.1:{site.port}/gradio_api/file=/etc/passwd",
    ]
    return paths + encoded_dots


def test_file_routes_return_no_file_content_outside_downloads(site, cookie):
    """Even logged in: only Gradio's own upload/cache folder is readable."""
    problems = []
    for path in file_requests(site):
        status, body = raw_get(site.port, path, cookie)
        if leaked(body) or status == 200:
            problems.append(f"{status} {path}: {leaked(body) or body[:80]!r}")
    assert not problems, "\n".join(problems)
    # The server is still fine afterwards.
    assert raw_get(site.port, "/config", cookie)[0] == 200


def test_upload_names_cannot_leave_the_upload_folder(site, cookie):
    evil = "../" * 12 + str(site.outside).lstrip("/") + "/planted.txt"
    for name in (evil, quote(evil, safe=""), "..\\..\\planted.txt", "/" + str(site.outside / "planted.txt")):
        response = httpx.post(f"{site.url}gradio_api/upload", files={"files": (name, b"PLANTED")},
                              headers={"Cookie": cookie}, timeout=10)
        assert response.status_code in (200, 400), response.text
        for stored in response.json() if response.status_code == 200 else []:
            assert Path(stored).resolve().is_relative_to(site.upload_dir.resolve()), stored
    assert not (site.outside / "planted.txt").exists()
    assert not any(p.name == "planted.txt" for p in site.root.rglob("*")
                   if not p.resolve().is_relative_to(site.upload_dir.resolve()))


def test_api_file_inputs_cannot_name_server_paths(site, cookie):
    """A hand-made API call whose file input points at a server path gets an error, not the file."""
    for target in ("/etc/passwd", str(site.outside / "secret.txt"), str(ROOT / "app.py"),
                   str(site.run / "run_config.json"), f"{site.upload_dir}/../outside/secret.txt"):
        data = [{"path": target, "meta": {"_type": "gradio.FileData"}}, RUN, ""]
        posted = httpx.post(f"{site.url}gradio_api/call/classify_file", json={"data": data},
                            headers={"Cookie": cookie}, timeout=10)
        assert posted.status_code == 200
        stream = httpx.get(f"{site.url}gradio_api/call/classify_file/{posted.json()['event_id']}",
                           headers={"Cookie": cookie}, timeout=60).text
        assert "event: error" in stream, (target, stream[:300])
        assert not leaked(stream.encode()), target


def test_run_references_stay_inside_the_runs_folder(site, cookie):
    from gradio_client import Client

    c = Client(site.url, verbose=False, auth=(USER, PASSWORD))
    for ref in (str(site.outside), "../outside", "../../" + site.outside.name):
        status = c.predict(ref, api_name="/run_status")
        assert "OUTSIDE-RUN-MARKER" not in json.dumps(status, default=str), ref
        c.predict(ref, api_name="/finetune_download")
    assert not list(site.outside.glob("*.zip"))  # nothing was zipped (or written) out there


# ------------------------------------------------------------------------------ the guard itself


def test_file_policy_blocks_the_project_but_never_the_runs_folder(tmp_path):
    project = tmp_path / "project"
    for name in ("bertlab", "tests", "data/runs", "data/other", ".git", ".gradio"):
        (project / name).mkdir(parents=True)
    (project / "app.py").write_text("")
    allowed, blocked = app.file_policy(runs=project / "data" / "runs", project=project)
    assert allowed == []
    assert set(blocked) == {str(project / n) for n in ("bertlab", "tests", "data/other", ".git", "app.py")}
    _, blocked = app.file_policy(runs=tmp_path / "elsewhere", project=project)
    assert str(project / "data") in blocked and str(project / ".gradio") not in blocked
    # The real launch: runs/ in the checkout stays downloadable, code does not.
    _, blocked = app.file_policy(runs=ROOT / "runs", project=ROOT)
    assert str(ROOT / "runs") not in blocked and str(ROOT / "bertlab") in blocked
    assert str(ROOT / "app.py") in blocked


@pytest.mark.parametrize("raw, refused", [
    ("/gradio_api/file=/tmp/gradio/abc/x.csv", None),
    ("/gradio_api/file=/tmp/gradio/../../etc/passwd", 404),
    ("/gradio_api/file=/tmp/gradio/..%2f..%2fetc/passwd", 404),
    ("/gradio_api/file=/tmp/gradio/%252e%252e%252fetc", 404),
    ("/gradio_api/file=/tmp/gradio/..%5c..%5cetc", 404),
    ("/gradio_api/file=https://example.com/x.png", 403),
    ("/file=%68ttp://127.0.0.1/", 403),
    ("/gradio_api/queue/data", None),
    ("/a..b/c...d", None),
])
def test_guard_refuses_dot_dot_and_remote_fetches(raw, refused):
    from urllib.parse import unquote

    result = app.refusal_for("GET", unquote(raw), raw.encode())
    assert (result[0] if result else None) == refused


def asgi_call(guard, method: str, path: str, body: bytes = b"", chunks: int = 1, client: str = "10.0.0.1",
              headers: list | None = None):
    """Drive the guard like a server would; returns (status, body)."""
    pieces = [body[i::chunks] for i in range(chunks)] if body else [b""]
    messages = [{"type": "http.request", "body": p, "more_body": i < len(pieces) - 1}
                for i, p in enumerate(pieces)]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "headers": headers or [],
             "client": (client, 40000)}
    asyncio.run(guard(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_guard_caps_bodies_and_stops_login_floods():
    seen = []

    async def inner(scope, receive, send):
        message = await receive()
        seen.append(message["body"])
        ok = scope["path"] != "/login" or message["body"] == b"good"
        await send({"type": "http.response.start", "status": 200 if ok else 400, "headers": []})
        await send({"type": "http.response.body", "body": b"inner"})

    guard = app.RequestGuard(inner, max_body_bytes=100, login_failures=3)
    assert asgi_call(guard, "POST", "/gradio_api/call/x", b"y" * 100, chunks=3) == (200, b"inner")
    assert seen[-1] == b"y" * 100  # the body reaches the app whole, though it came in pieces
    status, body = asgi_call(guard, "POST", "/gradio_api/call/x", b"y" * 101, chunks=3)
    assert status == 413 and b"100 bytes" in body
    assert asgi_call(guard, "POST", "/gradio_api/upload", b"z" * 1000)[0] == 200  # max_file_size's job

    for _ in range(3):
        assert asgi_call(guard, "POST", "/login", b"bad")[0] == 400
    status, body = asgi_call(guard, "POST", "/login", b"good")
    assert status == 429 and b"too many failed logins" in body
    assert asgi_call(guard, "GET", "/config")[0] == 200  # only logins wait
    # A stranger's wrong passwords do not lock out the real user, who logs in from elsewhere
    # (directly, or through the share tunnel, which forwards the visitor's address).
    assert asgi_call(guard, "POST", "/login", b"good", client="10.0.0.2")[0] == 200
    tunnel = [(b"x-forwarded-for", b"203.0.113.7")]
    assert asgi_call(guard, "POST", "/login", b"good", client="127.0.0.1", headers=tunnel)[0] == 200
    # Guessing from ever new (spoofed) addresses meets a global cap.
    for n in range(30):
        asgi_call(guard, "POST", "/login", b"bad", client=f"10.1.0.{n}")
    assert asgi_call(guard, "POST", "/login", b"good", client="10.0.0.3")[0] == 429
