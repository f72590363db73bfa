"""The inception5h download against an HTTP server on 127.0.0.1 serving a zip the test builds."""

import hashlib
import http.server
import io
import subprocess
import threading
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import run_cli, write_params
from tf_cnnvis.download import GRAPH_FILE, LABELS_FILE, fetch_inception5h, resolve_model
from tf_cnnvis.errors import FaultError, UserError


def make_zip(graph: bytes, members: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        entries = members if members is not None else {
            GRAPH_FILE: graph, LABELS_FILE: b"dummy\nkit fox\n", "LICENSE": b"Apache 2.0\n",
        }  # fmt: skip
        for name, data in entries.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


@contextmanager
def serve_stream(chunks, length: int | None = None, pause: float = 0.0):
    """Serve the byte strings ``chunks()`` yields at /inception5h.zip, ``pause`` seconds apart,
    with ``length`` as Content-Length (none if None), until the client goes away."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server API)
            if self.path != "/inception5h.zip":
                self.send_error(404)
                return
            self.send_response(200)
            if length is not None:
                self.send_header("Content-Length", str(length))
            self.end_headers()
            try:
                for chunk in chunks():
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    time.sleep(pause)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/inception5h.zip"
    finally:
        server.shutdown()
        server.server_close()


def serve(body: bytes, cut_at: int | None = None):
    """Serve ``body`` at /inception5h.zip; with ``cut_at``, announce it whole but close early."""
    return serve_stream(lambda: iter([body[:cut_at]]), length=len(body))


@pytest.fixture(scope="module")
def graph_bytes(slim_graph_path) -> bytes:
    return slim_graph_path.read_bytes()


def test_download_verifies_and_extracts(tmp_path, graph_bytes):
    body = make_zip(graph_bytes)
    models = tmp_path / "models"
    seen = []
    with serve(body) as url:
        path = fetch_inception5h(
            models, url, sha256=hashlib.sha256(body).hexdigest(), size=len(body),
            progress=lambda done, total: seen.append((done, total)),
        )  # fmt: skip
    assert path == models / GRAPH_FILE
    assert path.read_bytes() == graph_bytes
    assert (models / LABELS_FILE).read_text() == "dummy\nkit fox\n"
    assert sorted(p.name for p in models.iterdir()) == [LABELS_FILE, GRAPH_FILE]
    assert seen[-1] == (len(body), len(body))


def test_resolve_model_downloads_only_the_default_name(tmp_path, graph_bytes):
    body = make_zip(graph_bytes)
    with serve(body) as url:
        with pytest.raises(FaultError, match="bytes, not the published 49937555"):
            resolve_model(GRAPH_FILE, tmp_path / "models", url=url)
    with pytest.raises(UserError, match="other.pb not found"):
        resolve_model("other.pb", tmp_path / "models")
    (tmp_path / "models" / "mine.pb").write_bytes(graph_bytes)
    assert resolve_model("mine.pb", tmp_path / "models") == tmp_path / "models" / "mine.pb"


def test_cli_with_a_mirror_still_enforces_the_published_checksum(tmp_path, graph_bytes):
    write_params(tmp_path / "p", classes=(1,))
    with serve(make_zip(graph_bytes)) as url:
        result = run_cli(
            "--params_path", str(tmp_path / "p"), "--models_dir", str(tmp_path / "models"),
            "--outdir_path", str(tmp_path / "out"), "--logdir_path", str(tmp_path / "log"),
            env={"TF_CNNVIS_INCEPTION5H_URL": url},
        )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "not the published 49937555" in lines[0] and url in lines[0]
    assert f"unzip {GRAPH_FILE} and {LABELS_FILE} into" in lines[0]  # the names need both
    assert list((tmp_path / "models").iterdir()) == []
    assert not (tmp_path / "out").exists()


def test_no_server(tmp_path):
    with serve(b"") as url:
        pass  # the port is closed again: nothing listens there now
    write_params(tmp_path / "p", classes=(1,))
    result = run_cli(
        "--params_path", str(tmp_path / "p"), "--models_dir", str(tmp_path / "models"),
        "--outdir_path", str(tmp_path / "out"), env={"TF_CNNVIS_INCEPTION5H_URL": url},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: could not download {url} (")
    assert "Connection refused" in result.stderr and "by hand" in result.stderr
    assert result.stderr.count("\n") == 1
    assert list((tmp_path / "models").iterdir()) == []


def test_download_cut_off_midway_leaves_nothing(tmp_path, graph_bytes):
    body = make_zip(graph_bytes)
    with serve(body, cut_at=len(body) // 3) as url:
        with pytest.raises(FaultError) as info:
            fetch_inception5h(
                tmp_path, url, sha256=hashlib.sha256(body).hexdigest(), size=len(body)
            )
    assert url in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_zip_without_the_graph_and_members_with_paths(tmp_path, graph_bytes):
    no_graph = make_zip(b"", {LABELS_FILE: b"x\n"})
    with serve(no_graph) as url:
        with pytest.raises(FaultError, match=f"holds no {GRAPH_FILE}"):
            fetch_inception5h(
                tmp_path / "a", url, sha256=hashlib.sha256(no_graph).hexdigest(), size=None
            )
    assert list((tmp_path / "a").iterdir()) == []
    sneaky = make_zip(b"", {f"../../{GRAPH_FILE}": graph_bytes, f"/etc/{LABELS_FILE}": b"x\n"})
    with serve(sneaky) as url:
        fetch_inception5h(tmp_path / "b", url, sha256=hashlib.sha256(sneaky).hexdigest(), size=None)
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [LABELS_FILE, GRAPH_FILE]
    assert not (tmp_path / GRAPH_FILE).exists() and not Path(f"/etc/{LABELS_FILE}").exists()


def test_wrong_checksum_leaves_nothing(tmp_path, graph_bytes):
    body = make_zip(graph_bytes)
    with serve(body) as url:
        with pytest.raises(FaultError) as info:
            fetch_inception5h(tmp_path, url, sha256="0" * 64, size=len(body))
    message = str(info.value)
    assert (
        f"has SHA-256 {hashlib.sha256(body).hexdigest()}, not the published {'0' * 64}" in message
    )
    assert list(tmp_path.iterdir()) == []


def test_a_mirror_that_sends_more_than_the_published_size_is_cut_off(tmp_path, graph_bytes):
    body = make_zip(graph_bytes)
    sent = []

    def endless():  # the zip, then zeros: at most 200 MiB, far more than the client takes
        yield body
        for _ in range(200):
            sent.append(1)
            yield bytes(1 << 20)

    digest = hashlib.sha256(body).hexdigest()
    with serve_stream(endless) as url:
        with pytest.raises(FaultError, match="larger than the published .* discarded"):
            fetch_inception5h(tmp_path / "models", url, digest, len(body))
    assert len(sent) < 50  # refused as the count passed the size, not at the end
    assert list((tmp_path / "models").iterdir()) == []


def test_a_mirror_that_announces_too_much_is_refused_before_reading(tmp_path, graph_bytes):
    body = make_zip(graph_bytes)
    with serve_stream(lambda: iter([body]), length=len(body) + 1) as url:
        with pytest.raises(FaultError, match=rf"\({len(body) + 1} bytes announced\)"):
            fetch_inception5h(tmp_path / "models", url, "0" * 64, len(body))
    assert list((tmp_path / "models").iterdir()) == []


def test_a_trickling_mirror_is_given_up_at_the_deadline(tmp_path, graph_bytes):
    body = make_zip(graph_bytes)

    def trickle():  # a byte every 0.2 s, 60 at most
        return (body[i : i + 1] for i in range(60))

    shown = []
    with serve_stream(trickle, length=len(body), pause=0.2) as url:
        with pytest.raises(FaultError, match="took more than 1 s .* discarded; download"):
            fetch_inception5h(
                tmp_path / "models", url, "0" * 64, len(body),
                progress=lambda done, total: shown.append(done), deadline_s=1.0,
            )  # fmt: skip
    assert shown[0] == 0  # the first progress line comes at once, before any byte
    assert list((tmp_path / "models").iterdir()) == []


def test_a_mirror_below_the_minimum_rate_is_given_up_before_the_deadline(tmp_path, graph_bytes):
    from tf_cnnvis.download import Rate

    body = make_zip(graph_bytes)

    def trickle():  # a byte every 0.2 s, 60 at most
        return (body[i : i + 1] for i in range(60))

    with serve_stream(trickle, length=len(body), pause=0.2) as url:
        with pytest.raises(FaultError, match=r"sent \d bytes in 1 s, below 100 bytes per 1 s"):
            fetch_inception5h(
                tmp_path / "models", url, "0" * 64, len(body), min_rate=Rate(100, 1.0)
            )
    assert list((tmp_path / "models").iterdir()) == []


def test_a_full_models_folder_is_named_and_left_clean(tmp_path, graph_bytes):
    from tests.test_faults import small_disk

    body = make_zip(graph_bytes)
    models = tmp_path / "models"
    if not small_disk(models, "64k"):  # the zip is about 1 MB
        pytest.skip("this machine does not let the test mount a small tmpfs")
    try:
        with serve(body) as url:
            with pytest.raises(FaultError, match=f"cannot write the download into {models} "):
                fetch_inception5h(models, url, hashlib.sha256(body).hexdigest(), len(body))
        assert list(models.iterdir()) == []
    finally:
        subprocess.run(["umount", str(models)], check=True)
