"""Start the bertlab page.

    python app.py                          # http://127.0.0.1:7860, this machine only
    python app.py --share --auth-file pw   # a private lab on a public gradio.live link
    python app.py --demo --share           # a public demo: inference only, inputs capped

What makes a shared page safe is decided here, at launch:
  * bind 127.0.0.1 unless --host says otherwise;
  * --auth / BERTLAB_AUTH / --auth-file put a login in front of every page and API route;
  * --demo builds the page on Service(demo=True): training refused, text length, upload size,
    request size and queue length capped;
  * files: Gradio serves only its own upload/cache folders (answers such as the model zip and the
    predictions CSV are copied there); the project's own files are on its block list, and a small
    request guard refuses `..` paths, remote-URL fetches through /file=, oversized request bodies
    and login floods before Gradio sees them;
  * --share asks Gradio for a tunnel in a background thread: offline, the page says so within
    SHARE_WAIT_S seconds and keeps serving locally.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
from collections import deque
from pathlib import Path
from urllib.parse import unquote

# Offline-first: no usage analytics or version checks from the web process.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

PROJECT_DIR = Path(__file__).resolve().parent
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
SHARE_WAIT_S = 10.0
QUEUE_MAX = {True: 32, False: 256}  # queued requests (demo, lab)
CONCURRENCY = 4  # requests worked on at once per event (2-4 suit a small CPU machine)
# JSON bodies of API calls (texts, settings); files go through /upload, capped by max_file_size.
MAX_BODY_BYTES = {True: 256 * 1024, False: 16 * 1024 * 1024}
LOGIN_FAILURES_PER_MINUTE = 20
CACHE_AGE_S = {True: 3600, False: 86400}  # how long uploads/answers stay in Gradio's cache


# ------------------------------------------------------------------------------ flags


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="app.py", description="bertlab: a browser lab for BERT",
        epilog="A private shared lab: --share --auth-file FILE. A public demo: --demo --share.")
    parser.add_argument("--host", default=os.environ.get("BERTLAB_HOST", "127.0.0.1"),
                        help="interface to bind (default 127.0.0.1, this machine only; "
                             "0.0.0.0 = every interface)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BERTLAB_PORT", "7860")),
                        help="port (default 7860)")
    parser.add_argument("--share", action="store_true",
                        help="also ask Gradio for a public share link (needs network; without it "
                             "the page keeps serving locally)")
    parser.add_argument("--auth", default=None, metavar="USER:PASSWORD",
                        help="login protecting the whole page and its API; prefer BERTLAB_AUTH or "
                             "--auth-file so the password stays out of shell history")
    parser.add_argument("--auth-file", default=None, metavar="FILE",
                        help="file with one user:password per line (# starts a comment)")
    parser.add_argument("--demo", action="store_true",
                        help="public demo: fill-mask, classification and tokenization only; "
                             "training switched off; text, upload and queue sizes capped")
    return parser.parse_args(argv)


def _parse_pair(entry: str, where: str) -> tuple[str, str]:
    # The user name ends at the first colon, so a password may contain colons.
    user, sep, password = entry.partition(":")
    user = user.strip()  # Gradio strips the typed user name too
    if not sep or not user or not password:
        raise _bad_input(f"{where}: expected user:password, got {_redact(entry)!r}")
    return user, password


def _redact(entry: str) -> str:
    user, sep, _ = entry.partition(":")
    return f"{user}:***" if sep else (entry[:2] + "***" if entry else "")


def read_auth(args, environ=None) -> list[tuple[str, str]] | None:
    """Logins from --auth (or BERTLAB_AUTH when --auth is absent) plus --auth-file, or None.
    Raises BadInput naming the source of a malformed entry; never echoes a password."""
    environ = os.environ if environ is None else environ
    pairs: list[tuple[str, str]] = []
    if args.auth:
        pairs.append(_parse_pair(args.auth, "--auth"))
    elif environ.get("BERTLAB_AUTH"):
        pairs.append(_parse_pair(environ["BERTLAB_AUTH"], "BERTLAB_AUTH"))
    if args.auth_file:
        try:
            lines = Path(args.auth_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise _bad_input(f"--auth-file {args.auth_file}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise _bad_input(f"--auth-file {args.auth_file}: not UTF-8 text") from None
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if line and not line.startswith("#"):
                pairs.append(_parse_pair(line, f"--auth-file {args.auth_file}, line {number}"))
        if not pairs:
            raise _bad_input(f"--auth-file {args.auth_file}: no user:password lines in it")
    return pairs or None


def _bad_input(message: str):
    from bertlab.errors import BadInput

    return BadInput(message)


# ------------------------------------------------------------------------------ the page


def create_demo(demo_mode: bool = False, service=None):
    """The Blocks page on a Service (demo_mode=True: training refused, inputs capped).
    The service is kept on `demo.bertlab_service` so launch settings can follow its limits."""
    from bertlab.service import Service
    from bertlab.ui.app import build_app

    service = service or Service(demo=demo_mode)
    demo = build_app(service)
    demo.bertlab_service = service
    return demo


def file_policy(runs: Path | None = None, project: Path = PROJECT_DIR) -> tuple[list[str], list[str]]:
    """(allowed_paths, blocked_paths) for launch().

    Nothing is allowed beyond Gradio's own upload and cache folders: every file the page hands
    out (a model zip, a predictions CSV) is an event's answer, which Gradio copies into its cache
    before serving. Gradio checks that copy against the block list too, so the runs folder must
    not be blocked; every other entry of the project (code, tests, examples, .git) is.
    """
    from bertlab.training.run_folder import runs_root

    runs = (runs or runs_root()).resolve()
    project = project.resolve()
    blocked: list[str] = []

    def block_all_but_runs(folder: Path) -> None:
        for entry in sorted(folder.iterdir()):
            if entry.name == ".gradio" and folder == project:
                continue  # Gradio's cached examples: served to every visitor by design
            if entry == runs:
                continue
            if runs.is_relative_to(entry) and entry.is_dir():
                block_all_but_runs(entry)  # open the way down to the runs folder only
            else:
                blocked.append(str(entry))

    if runs == project or project.is_relative_to(runs):
        # The whole project sits inside the runs folder (unusual): block its code folders at least.
        blocked += [str(project / name) for name in ("bertlab", "tests", "app.py", ".git")]
    else:
        block_all_but_runs(project)
    return [], blocked


# ------------------------------------------------------------------------------ request guard


_FILE_ROUTE = re.compile(r"/file[=/](.*)$", re.S)


def _decoded_forms(path: str, raw: bytes) -> list[str]:
    """The path as sent, and decoded up to three times (catches %2e%2e%2f and %252e%252e%252f)."""
    forms = [path, raw.decode("latin-1")]
    current = forms[-1]
    for _ in range(3):
        decoded = unquote(current)
        if decoded == current:
            break
        forms.append(decoded)
        current = decoded
    return forms


def refusal_for(method: str, path: str, raw_path: bytes) -> tuple[int, str] | None:
    """(status, reason) when a request must not reach Gradio, else None."""
    for form in _decoded_forms(path, raw_path):
        segments = re.split(r"[/\\]", form)
        if ".." in segments or "\x00" in form:
            return 404, "not found"
        match = _FILE_ROUTE.search(form)
        if match and re.match(r"(?i)\s*https?:", match.group(1).lstrip("/")):
            # /file=<url> makes the server fetch any public URL: an open relay on a shared link.
            return 403, "remote files are not served here"
    return None


class RequestGuard:
    """ASGI middleware in front of Gradio: refuses `..` paths, remote fetches through /file=,
    request bodies over `max_body_bytes` (except Gradio's upload route, which enforces
    max_file_size itself), and login attempts from a client after `login_failures` failures of
    that client within a minute. With a login, the page a visitor gets before logging in carries
    no API description (Gradio embeds it in the login page too)."""

    def __init__(self, app, max_body_bytes: int, login_failures: int = LOGIN_FAILURES_PER_MINUTE):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.login_failures = login_failures
        # One window per client address, so a stranger's wrong passwords never lock the real user
        # out. Behind a share tunnel every visitor arrives from the tunnel's (loopback) address:
        # there the forwarded-for address names the client. Every client's failures also count
        # towards a global cap (10x), which bounds guessing through spoofed addresses.
        self.failures: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        method, path = scope.get("method", "GET"), scope.get("path", "")
        refusal = refusal_for(method, path, scope.get("raw_path") or path.encode())
        if refusal:
            return await _plain(send, *refusal)
        is_login = method == "POST" and path.rstrip("/").endswith("/login")
        client = _client_address(scope)
        if is_login and (self._recent_failures(client) >= self.login_failures
                         or self._recent_failures(None) >= 10 * self.login_failures):
            return await _plain(send, 429, "too many failed logins; wait a minute and try again")
        if method in ("POST", "PUT", "PATCH") and not path.rstrip("/").endswith("/upload"):
            body_or_refusal = await self._read_body(scope, receive)
            if isinstance(body_or_refusal, tuple):
                return await _plain(send, *body_or_refusal)
            receive = _replay(body_or_refusal, receive)
        if is_login:
            send = self._count_failures(send, client)
        if method == "GET" and _is_page(path):
            send = _without_api_info_before_login(send)
        return await self.app(scope, receive, send)

    def _recent_failures(self, client: str | None) -> int:
        """Failures within the last minute: of `client`, or of everyone (None)."""
        with self.lock:
            cutoff = time.monotonic() - 60
            for key in list(self.failures):
                window = self.failures[key]
                while window and window[0] < cutoff:
                    window.popleft()
                if not window:
                    del self.failures[key]
            if client is None:
                return sum(len(w) for w in self.failures.values())
            return len(self.failures.get(client, ()))

    def _count_failures(self, send, client: str):
        async def wrapped(message):
            if message["type"] == "http.response.start" and message["status"] >= 400:
                with self.lock:
                    self.failures.setdefault(client, deque()).append(time.monotonic())
            await send(message)

        return wrapped

    async def _read_body(self, scope, receive):
        """The whole body (small by construction), or (413, reason) once it passes the cap."""
        limit = self.max_body_bytes
        for name, value in scope.get("headers") or []:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                return 413, f"request body over {limit} bytes"
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return 400, "client went away"
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return 413, f"request body over {limit} bytes"
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)


def _client_address(scope) -> str:
    host = (scope.get("client") or ("?", 0))[0]
    if host in ("127.0.0.1", "::1", "localhost"):
        for name, value in scope.get("headers") or []:
            if name == b"x-forwarded-for" and value:
                return value.decode("latin-1").split(",")[0].strip() or host
    return host


def _is_page(path: str) -> bool:
    """The routes that render the page's HTML (the root, or a page under it), not API or files."""
    return path in ("", "/") or (path.endswith("/") and "gradio_api" not in path and "/file" not in path)


_API_INFO = re.compile(rb"(<script>window\.gradio_api_info = ).*?(;</script>)", re.S)


def _without_api_info_before_login(send):
    """Gradio renders the login page with the full API description (endpoint names, run ids in
    examples) while /gradio_api/info answers 401: before a login, that script is emptied."""
    held: dict = {}
    chunks: list[bytes] = []

    async def wrapped(message):
        if message["type"] == "http.response.start":
            held["start"] = message
            return
        if message["type"] != "http.response.body":
            return await send(message)
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(chunks)
        if re.search(rb'"auth_required":\s*true', body):
            body = _API_INFO.sub(rb"\1null\2", body)
        start = dict(held["start"])
        start["headers"] = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        start["headers"].append((b"content-length", str(len(body)).encode()))
        await send(start)
        await send({"type": "http.response.body", "body": body})

    return wrapped


def _replay(body: bytes, receive):
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later calls: wait for the disconnect as usual

    return replayed


async def _plain(send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# ------------------------------------------------------------------------------ launch


SESSION_CAPACITY = 30


def launch_options(demo, *, host: str, port: int | None, auth, demo_mode: bool,
                   login_failures: int = LOGIN_FAILURES_PER_MINUTE) -> dict:
    """The keyword arguments for demo.launch(): bind, login, file policy, size caps."""
    from starlette.middleware import Middleware

    service = getattr(demo, "bertlab_service", None)
    limits = getattr(service, "limits", {}) or {}
    allowed, blocked = file_policy()
    return dict(
        server_name=host, server_port=port, auth=auth, share=False,  # sharing: see request_share_link
        max_file_size=limits.get("max_upload_bytes", (2 if demo_mode else 200) * 1024 * 1024),
        allowed_paths=allowed, blocked_paths=blocked,
        # A public page shows bertlab's own messages (BadInput, gr.Error), not raw tracebacks.
        show_error=not demo_mode,
        # Fewer routes on a shared page: no traffic monitor, no MCP tools, no Gradio run-history
        # page (bertlab has its own Runs tab).
        enable_monitoring=False, mcp_server=False, run_history=False, ssr_mode=False,
        # Gradio keeps each session's component updates in memory (measured: 200 sessions held
        # 101 MB, ~0.5 MB a fill-mask visitor) for up to 10,000 sessions by default: far more than
        # a lab or a demo has open at once (a session is a page load; an evicted tab reloads). The oldest sessions' state goes first;
        # `benchmarks/load.py --new-sessions N` measures the page's growth.
        state_session_capacity=SESSION_CAPACITY,
        app_kwargs={"middleware": [Middleware(RequestGuard, max_body_bytes=MAX_BODY_BYTES[demo_mode],
                                              login_failures=login_failures)]},
        prevent_thread_lock=True, quiet=True, theme=_theme(), css=_css(),
    )


def _theme():
    from bertlab.ui.app import theme

    return theme()


def _css() -> str:
    from bertlab.ui.app import CSS

    return CSS


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """glibc gives each thread that allocates its own malloc arena (up to 8 per core), and freed
    memory stays in them: with Gradio's worker threads the page's memory crept up with every batch
    of new visitors. Two arenas keep it flat (benchmarks/load.py --new-sessions: +9 MB against +39 MB
    over the second 300 sessions, same run otherwise). Must run before the threads start; a no-op
    where the C library is not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(-8, arenas))  # -8 = M_ARENA_MAX
    except (OSError, AttributeError):
        return False


def serve(args, *, login_failures: int = LOGIN_FAILURES_PER_MINUTE, out=None):
    """Build and launch the page without blocking; returns the running Blocks.
    With args.share, also asks for a share link (see request_share_link)."""
    limit_malloc_arenas()
    out = out or sys.stdout
    auth = read_auth(args)
    from bertlab.service import Service

    service = Service(demo=args.demo)
    # The default models load (and answer once) before the page is built: a Predict pressed as
    # soon as the page shows is answered at once. Done here, one after the other, because loading
    # them in a thread beside the page build was slower on 2 cores (both are Python imports that
    # take turns on one interpreter lock: 18.3 s against 15.7 s to both done, measured here).
    warm_default_models(service, out)
    demo = create_demo(args.demo, service)
    # The page may publish demos with this server's own hub login only when nobody else can reach it.
    demo.bertlab_service.hub_login_allowed = args.host in LOOPBACK_HOSTS and not args.share and not args.demo
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_MAX[bool(args.demo)])
    # Uploads and answers (zips, CSVs) sit in Gradio's cache, readable by whoever has the link:
    # sweep them hourly, keeping them an hour in a public demo and a day in a lab.
    demo.delete_cache = (3600, CACHE_AGE_S[bool(args.demo)])
    demo.launch(**launch_options(demo, host=args.host, port=args.port, auth=auth, demo_mode=args.demo,
                                 login_failures=login_failures))
    mode = "public demo (training off, inputs capped)" if args.demo else "lab"
    print(f"bertlab {mode} serving on {demo.local_url}"
          + (f" for {len(auth)} login(s)" if auth else ""), file=out, flush=True)
    if args.host not in LOOPBACK_HOSTS and not auth and not args.demo:
        print(f"warning: listening on {args.host} without --auth: anyone on the network can train "
              "models and delete runs", file=out, flush=True)
    if args.share:
        if not auth and not args.demo:
            print("warning: --share without --auth: anyone with the link can train models and delete "
                  "runs (add --auth-file FILE, or use --demo for a public page)", file=out, flush=True)
        request_share_link(demo, out=out)
    return demo


def warm_default_models(service, out=None) -> None:
    """Load what the first tab answers with, the English default with its masked-LM head and the
    Chinese default (plus jieba's dictionary, which the tokenizer tab uses), and answer one
    sentence with each, so the first Predict waits neither for torch and the weights nor for the
    first call's set-up. The English answer also starts the fast path's export in the background.
    A failure is left to the first request, which reports it."""
    print("bertlab: loading the default models ...", file=out or sys.stdout, flush=True)
    for warm in (lambda: service.warm_up("default"), lambda: service.warm_up("default-chinese"),
                 lambda: service.tokenize("我爱北京天安门", model="default-chinese")):
        try:
            warm()
        except Exception:
            pass


def request_share_link(demo, timeout: float = SHARE_WAIT_S, setup=None, out=None) -> str | None:
    """Ask Gradio's share server for a public link to the running `demo`, waiting `timeout`
    seconds at most. Gradio's own share=True does this inside launch() with 30 s network timeouts
    (and a frpc download); here it runs in a thread, so the page serves locally whatever happens.
    A link that arrives after the wait is still printed when it comes."""
    out = out or sys.stdout
    if setup is None:
        from gradio import networking

        setup = networking.setup_tunnel
    result: dict = {}
    done = threading.Event()
    reported = threading.Event()  # set once the caller has given up waiting

    def work():
        try:
            url = setup(local_host=demo.server_name, local_port=demo.server_port,
                        share_token=demo.share_token, share_server_address=demo.share_server_address,
                        share_server_tls_certificate=demo.share_server_tls_certificate)
            # The tunnel reports its own scheme; the page is reached with the share server's.
            protocol = getattr(demo, "share_server_protocol", None) or "https"
            url = f"{protocol}://{url.split('://', 1)[-1]}"
            demo.share_url, demo.share = url, True
            result["url"] = url
            if reported.is_set():
                print(f"share link (late): {url}", file=out, flush=True)
        except Exception as exc:  # offline, blocked, share server down: all the same to the user
            cause = exc.__cause__ or exc
            result["error"] = f"{type(cause).__name__}: {cause}".strip()
        finally:
            done.set()

    threading.Thread(target=work, name="bertlab-share", daemon=True).start()
    done.wait(timeout)
    if "url" in result:
        print(f"share link: {result['url']}  (anyone with it reaches this page; it lasts up to a week)",
              file=out, flush=True)
        return result["url"]
    reported.set()
    if "error" in result:
        why = f"Gradio's share server could not be reached ({result['error'][:200]})"
    else:
        why = f"no answer from Gradio's share server within {timeout:g} s"
    print(f"no share link: {why}. Is this machine offline? The page keeps serving locally at "
          f"{demo.local_url}", file=out, flush=True)
    return None


def main(argv=None) -> int:
    from bertlab.errors import BadInput

    args = parse_args(argv)
    try:
        demo = serve(args)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # port taken, address not available
        print(f"error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
