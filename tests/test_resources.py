"""The resource layer against a real HTTP server on 127.0.0.1: resume, verification, locking, offline errors."""

from __future__ import annotations

import hashlib
import http.server
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from lipsync_tool.errors import ResourceError
from lipsync_tool.resources.download import Expected, NetworkError, download
from lipsync_tool.resources.store import ResourceStore, offline_from_environment
from lipsync_tool.resources.table import RESOURCES, Resource, for_engine

from .local_services import LocalHTTPServer, run_concurrently

PAYLOAD = os.urandom(3 * 1024 * 1024 + 123)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Server:
    """Serves PAYLOAD at /model.bin with Range support; can cut the first response short; counts GETs."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.cut_after: int | None = None
        self.body = PAYLOAD
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                owner.requests.append(self.headers.get("Range") or "")
                if self.path != "/model.bin":
                    self.send_error(404)
                    return
                start = 0
                match = re.match(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if match:
                    start = int(match.group(1))
                    self.send_response(206)
                    self.send_header(
                        "Content-Range", f"bytes {start}-{len(owner.body) - 1}/{len(owner.body)}"
                    )
                else:
                    self.send_response(200)
                body = owner.body[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if owner.cut_after is not None:
                    limit, owner.cut_after = owner.cut_after, None
                    self.wfile.write(body[:limit])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        self.local = LocalHTTPServer(Handler)
        self.url = self.local.url

    def close(self) -> None:
        self.local.close()


@pytest.fixture()
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.close()


def local(server: Server, **changes: object) -> Resource:
    base = Resource(
        "model.bin",
        "testengine",
        f"{server.url}/model.bin",
        "checkpoints/model.bin",
        len(PAYLOAD),
        SHA,
        "test",
        "test file",
    )
    return replace(base, **changes)


def test_download_is_verified_and_atomic(server: Server, tmp_path: Path) -> None:
    target = tmp_path / "model.bin"
    download(f"{server.url}/model.bin", target, Expected(len(PAYLOAD), SHA))
    assert target.read_bytes() == PAYLOAD
    assert not (tmp_path / "model.bin.part").exists()


def test_an_interrupted_download_resumes_with_range(server: Server, tmp_path: Path) -> None:
    store = ResourceStore(tmp_path, offline=False)
    resource = local(server)
    server.cut_after = 1_000_000
    with pytest.raises(ResourceError, match="missing"):
        store.ensure([resource])
    partial = store.path_of(resource).with_name("model.bin.part")
    kept = partial.stat().st_size
    assert 0 < kept < len(PAYLOAD), "the first part is kept for resuming"
    paths = store.ensure([resource])
    assert paths["model.bin"].read_bytes() == PAYLOAD
    assert server.requests == ["", f"bytes={kept}-"], "the second run asked only for the rest"


def test_a_corrupt_or_truncated_cached_file_is_fetched_again(
    server: Server, tmp_path: Path
) -> None:
    store = ResourceStore(tmp_path, offline=False)
    resource = local(server)
    path = store.path_of(resource)
    path.parent.mkdir(parents=True)
    path.write_bytes(PAYLOAD[:-10])  # truncated
    assert store.status(resource).problem and "bytes" in store.status(resource).problem
    assert store.ensure([resource])["model.bin"].read_bytes() == PAYLOAD
    path.write_bytes(bytes([PAYLOAD[0] ^ 1]) + PAYLOAD[1:])  # same size, wrong bytes
    assert "sha256" in (store.status(resource).problem or "")
    assert store.ensure([resource])["model.bin"].read_bytes() == PAYLOAD
    requests = len(server.requests)
    store.ensure([resource])
    assert len(server.requests) == requests, "a good cached file is used without any request"


def test_a_server_serving_the_wrong_file_is_refused(server: Server, tmp_path: Path) -> None:
    server.body = b"<html>not a model</html>"
    store = ResourceStore(tmp_path, offline=False)
    with pytest.raises(ResourceError, match="not the expected file"):
        store.ensure([local(server)])
    assert not store.path_of(local(server)).exists()


def test_concurrent_runs_download_once(server: Server, tmp_path: Path) -> None:
    resource = local(server)
    outcomes = run_concurrently(
        lambda: ResourceStore(tmp_path, offline=False).ensure([resource])["model.bin"].read_bytes(),
        4,
    )
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    results = [o for o in outcomes if not isinstance(o, BaseException)]
    assert not errors and results == [PAYLOAD] * 4
    assert len(server.requests) == 1, "one download for four concurrent runs"


def test_offline_error_names_each_file_url_and_path(tmp_path: Path) -> None:
    store = ResourceStore(tmp_path, offline=True)
    wanted = for_engine("wav2lip")[:2]
    with pytest.raises(ResourceError) as caught:
        store.ensure(wanted)
    message = str(caught.value)
    assert "LIPSYNC_OFFLINE" in message and "2 model file(s) missing" in message
    for resource in wanted:
        assert resource.url in message and str(store.path_of(resource)) in message
    assert "\n" not in message


def test_no_network_gives_the_same_clear_error(tmp_path: Path) -> None:
    unreachable = Resource(
        "x.bin", "testengine", "http://127.0.0.1:9/x.bin", "x.bin", 10, None, "test", "test"
    )
    with pytest.raises(ResourceError, match="network cannot be reached.*127.0.0.1:9/x.bin"):
        ResourceStore(tmp_path, offline=False).ensure([unreachable])


def test_offline_switch_from_the_environment() -> None:
    assert offline_from_environment({"LIPSYNC_OFFLINE": "1"})
    assert not offline_from_environment({"LIPSYNC_OFFLINE": "0"})
    assert not offline_from_environment({})


def test_the_table_is_complete() -> None:
    names = [r.name for r in RESOURCES]
    assert len(names) == len(set(names))
    assert {"wav2lip_gan.pth", "wav2lip.pth", "s3fd.pth"} <= set(names)
    assert {
        "SadTalker_V0.0.2_256.safetensors",
        "detection_Resnet50_Final.pth",
        "GFPGANv1.4.pth",
    } <= set(names)
    for entry in RESOURCES:
        assert entry.url.startswith("https://") and entry.sha256 and len(entry.sha256) == 64
    assert next(r for r in RESOURCES if r.name == "wav2lip.pth").size == 435_807_851


def test_resources_subcommand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lipsync_tool.cli import main

    monkeypatch.setenv("LIPSYNC_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("LIPSYNC_OFFLINE", "1")
    assert main(["resources", "list"]) == 0
    listed = capsys.readouterr().out
    assert (
        "wav2lip_gan.pth" in listed
        and "SadTalker_V0.0.2_512.safetensors" in listed
        and "not downloaded" in listed
    )
    broken = tmp_path / "wav2lip" / "checkpoints" / "wav2lip_gan.pth"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"<html>an error page saved as a model</html>")
    assert main(["resources", "verify", "--engine", "wav2lip", "wav2lip_gan.pth"]) == 1
    assert "instead of 435,801,865" in capsys.readouterr().out
    assert main(["resources", "fetch", "wav2lip_gan.pth"]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert (
        len(error) == 1
        and error[0].startswith("error: 1 model file(s) missing")
        and str(broken) in error[0]
    )
    assert main(["resources", "clear", "--engine", "wav2lip"]) == 0
    assert not (tmp_path / "wav2lip").exists()
    assert main(["resources", "verify", "nope"]) == 2


def test_a_checked_file_is_not_hashed_again_until_it_changes(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Warm runs start fast: a file hashed once and untouched since is trusted from its stamp; any write
    to it (even one that keeps its size) sends it back to a full check, and `verify` always hashes."""
    from lipsync_tool.resources import store as store_module

    store = ResourceStore(tmp_path, offline=False)
    resource = local(server)
    store.ensure([resource])
    hashed: list[Path] = []
    real_check = store_module.check_file
    monkeypatch.setattr(
        store_module,
        "check_file",
        lambda path, expected: hashed.append(path) or real_check(path, expected),
    )
    assert store.status(resource).problem is None and hashed == [], "the stamp spared a second hash"
    assert store.status(resource, thorough=True).problem is None and len(hashed) == 1
    path = store.path_of(resource)
    path.write_bytes(bytes([PAYLOAD[0] ^ 1]) + PAYLOAD[1:])  # same size, wrong bytes
    assert "sha256" in (store.status(resource).problem or ""), "a rewritten file is hashed again"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_full_disk_is_named_as_such_not_as_a_network_failure(
    server: Server, tmp_path: Path
) -> None:
    """Writing the partial file fails with ENOSPC (the partial file is made a link to /dev/full): the error says
    the disk is full and how to fix it, instead of 'broke off, run again'."""
    target = tmp_path / "model.bin"
    (tmp_path / "model.bin.part").symlink_to("/dev/full")
    with pytest.raises(ResourceError, match="is full") as raised:
        download(f"{server.url}/model.bin", target, Expected(len(PAYLOAD), SHA))
    assert not isinstance(raised.value, NetworkError) and "--cache-dir" in str(raised.value)
    assert not target.exists()
