"""The HTTP API in process (Starlette's TestClient over httpx): every endpoint and error.

Jobs really render: a JobRunner, the worker's own code, runs them in this process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the [serve] extra is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from lipsync_tool.serve.app import create_app  # noqa: E402
from lipsync_tool.serve.settings import ServeSettings  # noqa: E402
from lipsync_tool.serve.worker import JobRunner  # noqa: E402

from .conftest import write_wav  # noqa: E402
from .serve_helpers import (  # noqa: E402
    audio_job,
    blank_png,
    portrait_bytes,
    settings_for,
    sse_events,
    text_job,
)

KEY_A, KEY_B = "key-a-0123456789abcdef", "key-b-0123456789abcdef"


class Api:
    """A TestClient on an app over `settings`, and a runner of its jobs."""

    def __init__(self, settings: ServeSettings, headers: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.client = TestClient(create_app(settings), headers=headers or {})
        self.runner = JobRunner(settings)

    def submit(self, job: dict[str, Any], **kwargs: Any) -> Any:
        return self.client.post("/v1/jobs", **job, **kwargs)

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.client.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def job_dirs(self) -> list[Path]:
        return sorted(self.settings.jobs_dir.iterdir())


@pytest.fixture()
def portrait(assets: Path) -> bytes:
    return portrait_bytes(assets / "grace_hopper.jpg")


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[Api]:
    api = Api(settings_for(tmp_path / "data"))
    yield api
    api.runner.stop()


def error_of(response: Any) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert "\n" not in body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def test_a_job_is_queued_rendered_and_served_with_range(api: Api, portrait: bytes) -> None:
    response = api.submit(text_job(portrait))
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "queued"
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert api.client.get("/v1/health").json()["queued"] == 1

    api.runner.run(job["id"])
    done = api.job(job["id"])
    assert done["status"] == "succeeded", done
    assert done["result"]["frames"] >= 12 and done["result"]["frame_size"] == [256, 256]
    assert done["timings"]["queued"] >= 0 and done["timings"]["running"] > 0
    assert "render" in done["timings"]["stages"]

    whole = api.client.get(done["links"]["result"])
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.content[4:8] == b"ftyp" and len(whole.content) == done["result"]["bytes"]
    part = api.client.get(done["links"]["result"], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    assert part.content == whole.content[100:200]
    download = api.client.get(done["links"]["result"] + "?download=true")
    assert download.headers["content-disposition"].startswith("attachment")


def test_events_tell_the_story_and_resume_after_last_event_id(api: Api, portrait: bytes) -> None:
    job_id = api.submit(text_job(portrait)).json()["id"]
    api.runner.run(job_id)
    with api.client.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = sse_events("".join(stream.iter_text()))
    states = [e["data"]["status"] for e in events if e["event"] == "state"]
    assert states == ["queued", "running", "succeeded"]
    progress = [e["data"] for e in events if e["event"] == "progress"]
    assert progress and progress[-1]["done"] == progress[-1]["total"]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)

    middle = ids[len(ids) // 2]
    headers = {"Last-Event-ID": str(middle)}
    with api.client.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers) as stream:
        resumed = sse_events("".join(stream.iter_text()))
    assert [e["id"] for e in resumed] == [i for i in ids if i > middle]
    done = api.client.get(f"/v1/jobs/{job_id}/events", headers={"Last-Event-ID": str(ids[-1])})
    assert done.status_code == 204  # an EventSource stops reconnecting


def test_events_of_a_live_job_stream_as_it_runs_with_heartbeats(api: Api, portrait: bytes) -> None:
    app = api.client.app
    app.state.service.sse_heartbeat = 0.05  # type: ignore[attr-defined]
    job_id = api.submit(text_job(portrait)).json()["id"]
    api.runner.start_heartbeat()
    worker = threading.Timer(0.5, api.runner.run, args=(job_id,))
    worker.start()
    with api.client.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
        body = "".join(stream.iter_text())
    worker.join()
    assert ": heartbeat" in body
    assert [e["data"]["status"] for e in sse_events(body) if e["event"] == "state"] == [
        "queued",
        "running",
        "succeeded",
    ]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("not an image", "portrait is not an image"),
        ("no face", "no face found"),
        ("empty audio", "audio is an empty file"),
        ("not audio", "audio"),
        ("too long", "over the 1 s limit"),
        ("not json", "options is not valid JSON"),
        ("unknown option", "unknown options: colour"),
        ("server field", "options output: the server chooses"),
        ("wrong type", "options rate must be an integer"),
        ("out of range", "rate (--rate) must be between"),
        ("unknown engine", "unknown engine 'magic'"),
        ("both", "either an `audio` file or a `text` field"),
        ("neither", "either an `audio` file or a `text` field"),
        ("no portrait", "no portrait"),
    ],
)
def test_bad_input_is_422_with_one_line_and_leaves_nothing(
    api: Api, portrait: bytes, assets: Path, case: str, expected: str
) -> None:
    wav = (assets / "speech.wav").read_bytes()
    jobs: dict[str, dict[str, Any]] = {
        "not an image": text_job(b"GIF? no, plain text"),
        "no face": text_job(blank_png()),
        "empty audio": audio_job(portrait, b""),
        "not audio": audio_job(portrait, b"\x00\x01 this is no recording" * 50),
        "too long": audio_job(portrait, wav, max_duration=1.0),
        "not json": {**text_job(portrait), "data": {"text": "hi", "options": "{fps: 3"}},
        "unknown option": text_job(portrait, colour="red"),
        "server field": text_job(portrait, output="/etc/passwd"),
        "wrong type": text_job(portrait, rate="fast"),
        "out of range": text_job(portrait, rate=20),
        "unknown engine": text_job(portrait, engine="magic"),
        "both": {**audio_job(portrait, wav), "data": {"text": "hi"}},
        "neither": {**audio_job(portrait, wav), "files": {"portrait": ("p.jpg", portrait)}},
        "no portrait": {"files": {"audio": ("a.wav", wav)}, "data": {}},
    }
    response = api.submit(jobs[case])
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert expected in error["message"]
    assert str(api.settings.data_dir) not in error["message"]
    assert api.job_dirs() == []
    assert api.client.get("/v1/jobs").json()["total"] == 0


def test_the_servers_duration_cap_holds_whatever_the_client_asks(
    tmp_path: Path, portrait: bytes, assets: Path
) -> None:
    api = Api(settings_for(tmp_path / "data", max_duration=3.0))
    wav = (assets / "speech.wav").read_bytes()
    asked = api.submit(audio_job(portrait, wav, max_duration=1000))
    assert asked.status_code == 422
    assert "renders at most 3 s of speech" in error_of(asked)["message"]
    silent_cap = api.submit(audio_job(portrait, wav))
    assert silent_cap.status_code == 422
    assert "over the 3 s limit" in error_of(silent_cap)["message"]
    assert api.submit(text_job(portrait)).json()["options"]["max_duration"] == 3.0


def test_an_upload_past_the_cap_is_413(tmp_path: Path, portrait: bytes, assets: Path) -> None:
    api = Api(settings_for(tmp_path / "data", max_upload_mb=0.05))
    big = (assets / "speech.wav").read_bytes()
    assert len(big) > 0.05 * 2**20
    response = api.submit(audio_job(portrait, big))
    assert response.status_code == 413
    assert "larger than 0.05 MB" in error_of(response)["message"]
    assert api.job_dirs() == []


def test_past_the_owners_cap_is_429_and_past_the_disk_floor_507(
    tmp_path: Path, portrait: bytes
) -> None:
    api = Api(settings_for(tmp_path / "data", jobs_per_owner=1))
    assert api.submit(text_job(portrait)).status_code == 202
    refused = api.submit(text_job(portrait))
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "limit is 1" in error_of(refused)["message"]

    full = Api(settings_for(tmp_path / "full", disk_floor_mb=10**12))
    response = full.submit(text_job(portrait))
    assert response.status_code == 507
    assert "disk" in error_of(response)["message"]


def test_keys_separate_owners(tmp_path: Path, portrait: bytes) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# our keys\n{KEY_A}\n\n{KEY_B}\n")
    settings = settings_for(tmp_path / "data", api_keys_file=keys)
    a = Api(settings, {"Authorization": f"Bearer {KEY_A}"})
    b = Api(settings, {"Authorization": f"Bearer {KEY_B}"})
    anonymous = Api(settings)
    wrong = Api(settings, {"Authorization": "Bearer key-c-0123456789abcdef"})

    for client in (anonymous, wrong):
        response = client.client.get("/v1/jobs")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert client.submit(text_job(portrait)).status_code == 401
    assert anonymous.job_dirs() == []

    job_id = a.submit(text_job(portrait)).json()["id"]
    a.runner.run(job_id)
    assert a.job(job_id)["status"] == "succeeded"
    for method, path in [
        ("GET", f"/v1/jobs/{job_id}"),
        ("GET", f"/v1/jobs/{job_id}/result"),
        ("GET", f"/v1/jobs/{job_id}/events"),
        ("POST", f"/v1/jobs/{job_id}/cancel"),
        ("DELETE", f"/v1/jobs/{job_id}"),
    ]:
        response = b.client.request(method, path)
        assert response.status_code == 404, (method, path)
        assert error_of(response)["message"] == f"no job {job_id}"
    assert b.client.get("/v1/jobs").json()["total"] == 0
    assert a.client.get("/v1/jobs").json()["total"] == 1
    assert a.job(job_id)["status"] == "succeeded"  # B's delete did nothing


def test_a_browser_cookie_needs_a_same_origin_for_changes(tmp_path: Path, portrait: bytes) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(KEY_A + "\n")
    api = Api(settings_for(tmp_path / "data", api_keys_file=keys))
    api.client.cookies.set("lipsync_key", KEY_A)
    assert api.client.get("/v1/jobs").status_code == 200
    foreign = api.submit(text_job(portrait), headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    same = api.submit(text_job(portrait), headers={"Origin": "http://testserver"})
    assert same.status_code == 202


def test_the_same_idempotency_key_gives_the_same_job(api: Api, portrait: bytes) -> None:
    headers = {"Idempotency-Key": "order-17"}
    first = api.submit(text_job(portrait), headers=headers)
    again = api.submit(text_job(portrait), headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    other = api.submit(text_job(portrait, text="Something else."), headers=headers)
    assert other.status_code == 422
    assert "Idempotency-Key 'order-17' was used for another request" in error_of(other)["message"]
    assert api.client.get("/v1/jobs").json()["total"] == 1
    assert len(api.job_dirs()) == 1
    assert api.client.get("/v1/health").json()["queued"] == 1


def test_cancelling_a_queued_job_means_it_never_runs(api: Api, portrait: bytes) -> None:
    job_id = api.submit(text_job(portrait)).json()["id"]
    response = api.client.post(f"/v1/jobs/{job_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    api.runner.run(job_id)  # the worker takes its id from the queue and drops it
    job = api.job(job_id)
    assert job["status"] == "cancelled" and job["started"] is None
    assert api.client.get(f"/v1/jobs/{job_id}/result").status_code == 404
    again = api.client.post(f"/v1/jobs/{job_id}/cancel")
    assert again.status_code == 409


def test_cancelling_a_running_job_stops_it_and_keeps_no_file(
    api: Api, portrait: bytes, assets: Path
) -> None:
    wav = (assets / "speech.wav").read_bytes()
    job_id = api.submit(audio_job(portrait, wav, upscale=True, fps=25)).json()["id"]
    api.runner.start_heartbeat()
    worker = threading.Thread(target=api.runner.run, args=(job_id,))
    worker.start()
    deadline = time.monotonic() + 60
    while api.job(job_id)["status"] == "queued" and time.monotonic() < deadline:
        time.sleep(0.05)
    response = api.client.post(f"/v1/jobs/{job_id}/cancel")
    assert response.status_code == 202 and response.json()["cancel_requested"]
    worker.join(timeout=60)
    job = api.job(job_id)
    assert job["status"] == "cancelled", job
    leftovers = [p.name for p in (api.settings.jobs_dir / job_id).iterdir()]
    assert not [name for name in leftovers if name.startswith("result") or "partial" in name]


def test_delete_removes_the_job_and_its_files(api: Api, portrait: bytes) -> None:
    job_id = api.submit(text_job(portrait)).json()["id"]
    api.runner.run(job_id)
    assert (api.settings.jobs_dir / job_id / "result.mp4").is_file()
    assert api.client.delete(f"/v1/jobs/{job_id}").status_code == 204
    assert not (api.settings.jobs_dir / job_id).exists()
    assert api.client.get(f"/v1/jobs/{job_id}").status_code == 404
    assert api.client.delete(f"/v1/jobs/{job_id}").status_code == 404


def test_the_list_is_newest_first_paginated_and_filtered(
    api: Api, portrait: bytes, assets: Path
) -> None:
    ids = [api.submit(text_job(portrait, text=f"Number {n}.")).json()["id"] for n in range(3)]
    api.runner.run(ids[0])
    page = api.client.get("/v1/jobs", params={"limit": 2}).json()
    assert page["total"] == 3 and [j["id"] for j in page["jobs"]] == ids[::-1][:2]
    rest = api.client.get("/v1/jobs", params={"limit": 2, "offset": 2}).json()
    assert [j["id"] for j in rest["jobs"]] == [ids[0]]
    done = api.client.get("/v1/jobs", params={"status": "succeeded"}).json()
    assert [j["id"] for j in done["jobs"]] == [ids[0]]
    bad = api.client.get("/v1/jobs", params={"status": "sleeping"})
    assert bad.status_code == 422 and "status must be one of" in error_of(bad)["message"]
    assert api.client.get("/v1/jobs", params={"limit": 0}).status_code == 422


def test_engines_voices_health_and_the_schema(api: Api) -> None:
    engines = api.client.get("/v1/engines").json()
    assert engines[0]["name"] == "warp" and {"wav2lip", "sadtalker"} <= {e["name"] for e in engines}
    voices = api.client.get("/v1/voices").json()
    assert any(v["language"] == "en-gb" for v in voices)
    health = api.client.get("/v1/health").json()
    assert health["status"] == "ok" and health["free_disk_mb"] > 0
    api.runner.start_heartbeat()
    deadline = time.monotonic() + 5
    while api.client.get("/v1/health").json()["workers"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.client.get("/v1/health").json()["workers"] == 1
    schema = api.client.get("/openapi.json").json()
    assert {"/v1/jobs", "/v1/jobs/{job_id}/events", "/v1/health"} <= set(schema["paths"])
    assert api.client.get("/docs").status_code == 200
    assert api.client.get("/v1/nothing").status_code == 404


def test_a_file_name_never_becomes_a_path(api: Api, portrait: bytes, assets: Path) -> None:
    wav = (assets / "speech.wav").read_bytes()
    job = audio_job(portrait, wav, name="../../../escape.wav")
    job["files"]["portrait"] = ("../../evil.sh", portrait, "image/jpeg")
    job_id = api.submit(job).json()["id"]
    names = sorted(p.name for p in (api.settings.jobs_dir / job_id).iterdir())
    assert names == ["audio.wav", "portrait.jpg"]
    assert not list(api.settings.data_dir.parent.glob("**/escape.wav"))


def test_speech_sent_as_a_wav_of_another_rate_renders(
    api: Api, portrait: bytes, tmp_path: Path
) -> None:
    from .conftest import speech_like

    wav = write_wav(tmp_path / "s.wav", speech_like(1.5, [(0.2, 1.3)], rate=44100), rate=44100)
    job_id = api.submit(audio_job(portrait, wav.read_bytes(), name="s.wav")).json()["id"]
    api.runner.run(job_id)
    job = api.job(job_id)
    assert job["status"] == "succeeded" and abs(job["result"]["duration"] - 1.5) < 0.05


def test_the_face_preview_frames_the_face_that_will_speak(api: Api, portrait: bytes) -> None:
    response = api.client.post("/v1/faces", files={"portrait": ("p.jpg", portrait)})
    assert response.status_code == 200, response.text
    face = response.json()
    x0, y0, x1, y1 = face["box"]
    assert face["width"] == face["height"] == 256 and face["faces_seen"] == 1
    assert 0 < x0 < x1 < 256 and 0 < y0 < y1 < 256 and 40 < x1 - x0 < 160
    blank = api.client.post("/v1/faces", files={"portrait": ("b.png", blank_png())})
    assert blank.status_code == 422 and "no face found" in error_of(blank)["message"]
    assert "/tmp" not in error_of(blank)["message"]


def test_the_page_and_its_assets_are_served(api: Api) -> None:
    page = api.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/app.js"' in page.text
    assert api.client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    assert api.client.get("/static/style.css").status_code == 200
    assert api.client.get("/static/index.html").status_code == 404
    assert api.client.get("/static/..%2Fapp.py").status_code == 404


def test_a_browser_signs_in_with_a_key_and_out_again(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(KEY_A + "\n")
    api = Api(settings_for(tmp_path / "data", api_keys_file=keys))
    origin = {"Origin": "http://testserver"}
    assert api.client.get("/v1/session").json() == {"keys_required": True, "signed_in": False}
    wrong = api.client.post("/v1/session", data={"key": "nope"}, headers=origin)
    assert wrong.status_code == 401
    signed = api.client.post("/v1/session", data={"key": KEY_A}, headers=origin)
    assert signed.status_code == 204
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert api.client.get("/v1/session").json()["signed_in"] is True
    assert api.client.get("/v1/jobs").status_code == 200
    assert api.client.delete("/v1/session").status_code == 204
    api.client.cookies.clear()
    assert api.client.get("/v1/jobs").status_code == 401


def test_a_job_reruns_with_its_inputs_and_shows_a_thumbnail(api: Api, portrait: bytes) -> None:
    first = api.submit(text_job(portrait, expression_scale=1.5)).json()
    again = api.client.post(f"/v1/jobs/{first['id']}/rerun")
    assert again.status_code == 202
    rerun = again.json()
    assert rerun["id"] != first["id"]
    assert (rerun["options"], rerun["text"]) == (first["options"], first["text"])
    api.runner.run(rerun["id"])
    assert api.job(rerun["id"])["status"] == "succeeded"
    thumb = api.client.get(f"/v1/jobs/{first['id']}/thumbnail")
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    import io

    from PIL import Image

    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 192
    api.client.delete(f"/v1/jobs/{first['id']}")
    assert api.client.post(f"/v1/jobs/{first['id']}/rerun").status_code == 404


def test_serve_refuses_to_listen_beyond_loopback_without_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lipsync_tool.cli import main

    data = tmp_path / "data"
    assert main(["serve", "--host", "0.0.0.0", "--data-dir", str(data)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: --host 0.0.0.0 would let anyone") and error.count("\n") == 1
    short = tmp_path / "keys.txt"
    short.write_text("abc\n")
    assert main(["serve", "--api-keys-file", str(short), "--data-dir", str(data)]) == 2
    assert "at least 16 characters" in capsys.readouterr().err
    assert main(["serve", "--queue", "rabbit://x", "--data-dir", str(data)]) == 2
    assert "use sqlite or redis://" in capsys.readouterr().err
    assert not data.exists()


def test_a_job_carries_its_render_estimate(api: Api, portrait: bytes) -> None:
    job = api.submit(text_job(portrait)).json()
    assert 0 < job["estimate_seconds"] < 30
    long = api.submit(text_job(portrait, text="Hello there, and welcome. " * 8)).json()
    assert long["estimate_seconds"] > job["estimate_seconds"]


def test_the_estimate_comes_before_submitting_and_makes_no_job(
    api: Api, portrait: bytes, assets: Path
) -> None:
    wav = (assets / "speech.wav").read_bytes()
    response = api.client.post("/v1/estimate", **audio_job(portrait, wav))
    assert response.status_code == 200, response.text
    guess = response.json()
    assert guess["speech_seconds"] == pytest.approx(6.2, abs=0.3) and guess["fits"]
    assert 0 < guess["seconds"] < guess["seconds_high"]
    assert api.job_dirs() == [] and api.client.get("/v1/jobs").json()["total"] == 0
    bad = api.client.post("/v1/estimate", **audio_job(portrait, b"not audio at all"))
    assert bad.status_code == 422 and "/tmp" not in error_of(bad)["message"]
