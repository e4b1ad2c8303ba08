"""Wav2Lip generator, audio front-end and checkpoint loader against the upstream parity data."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings(
    r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning"
)

from lipsync_tool.engine.wav2lip import audio  # noqa: E402
from lipsync_tool.engine.wav2lip.audio import mel_windows, melspectrogram  # noqa: E402
from lipsync_tool.engine.wav2lip.model import KEY_PREFIX, Wav2LipGenerator, load_generator  # noqa: E402
from lipsync_tool.errors import InputError, ResourceError  # noqa: E402

from .wav2lip_helpers import official_state as parity_state  # noqa: E402
from .wav2lip_helpers import write_official_checkpoint  # noqa: E402

DATA = Path(__file__).parent / "data" / "wav2lip"
OUT_TOLERANCE = 1e-5
MEL_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def layout() -> list[dict]:
    return json.loads((DATA / "wav2lip_state_dict_layout.json").read_text())["tensors"]


@pytest.fixture(scope="module")
def parity() -> dict[str, np.ndarray]:
    with np.load(DATA / "wav2lip_parity.npz") as npz:
        return {name: npz[name] for name in npz.files}


@pytest.fixture(scope="module")
def official_state() -> dict[str, torch.Tensor]:
    """The parity weights keyed as in the official files (`module.` prefix)."""
    return parity_state()


@pytest.fixture(scope="module")
def official_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_official_checkpoint(tmp_path_factory.mktemp("wav2lip") / "wav2lip.pth")


@pytest.fixture(scope="module")
def model(official_state: dict) -> Wav2LipGenerator:
    generator = Wav2LipGenerator()
    generator.load_state_dict(
        {k[len(KEY_PREFIX) :]: v for k, v in official_state.items()}, strict=True
    )
    return generator.eval()


def _max_error(generator: torch.nn.Module, parity: dict, artefact: Path | None = None) -> float:
    with torch.inference_mode():
        out = generator(torch.from_numpy(parity["mel"]), torch.from_numpy(parity["face"])).numpy()
    if artefact is not None:
        np.savez(artefact, out=out, expected=parity["out"])
    assert out.shape == parity["out"].shape and out.dtype == np.float32
    return float(np.abs(out - parity["out"]).max())


def test_state_dict_layout_matches_official(layout: list[dict]) -> None:
    ours = [
        (KEY_PREFIX + k, list(v.shape), str(v.dtype).removeprefix("torch."))
        for k, v in Wav2LipGenerator().state_dict().items()
    ]
    theirs = [(t["key"], t["shape"], t["dtype"]) for t in layout]
    assert ours == theirs
    assert len(ours) == 352
    assert sum(int(np.prod(shape, dtype=np.int64)) for _, shape, _ in ours) == 36_320_837


def test_generator_reproduces_upstream_output(
    model: Wav2LipGenerator, parity: dict, tmp_path: Path
) -> None:
    assert _max_error(model, parity, tmp_path / "wav2lip_out.npz") < OUT_TOLERANCE


def test_generator_depends_on_audio(model: Wav2LipGenerator, parity: dict) -> None:
    halved = dict(parity, mel=parity["mel"] * np.float32(0.5))
    assert _max_error(model, halved) > 10 * OUT_TOLERANCE


def test_audio_constants_match_hparams() -> None:
    hparams = json.loads((DATA / "wav2lip_hparams.json").read_text())
    ours = {
        "sample_rate": audio.SAMPLE_RATE,
        "n_fft": audio.N_FFT,
        "hop_size": audio.HOP,
        "win_size": audio.WIN,
        "num_mels": audio.N_MELS,
        "fmin": audio.FMIN,
        "fmax": audio.FMAX,
        "preemphasis": audio.PREEMPHASIS,
        "min_level_db": audio.MIN_LEVEL_DB,
        "ref_level_db": audio.REF_LEVEL_DB,
        "max_abs_value": audio.MAX_ABS_VALUE,
    }
    assert ours == {name: hparams[name] for name in ours}
    assert hparams["symmetric_mels"] and hparams["signal_normalization"] and hparams["preemphasize"]
    assert hparams["allow_clipping_in_normalization"] and not hparams["use_lws"]


def test_melspectrogram_matches_upstream(parity: dict) -> None:
    mel = melspectrogram(parity["wav"])
    assert mel.shape == parity["melspec"].shape == (80, 161) and mel.dtype == np.float32
    assert np.abs(mel - parity["melspec"]).max() < MEL_TOLERANCE


def test_mel_windows_match_upstream(parity: dict) -> None:
    from_ours = mel_windows(melspectrogram(parity["wav"]), 25)
    assert (
        from_ours.shape == parity["chunks"].shape == (47, 80, 16) and from_ours.dtype == np.float32
    )
    assert np.abs(from_ours - parity["chunks"]).max() < MEL_TOLERANCE
    np.testing.assert_array_equal(mel_windows(parity["melspec"], 25.0, 47), parity["chunks"])


def test_mel_windows_exact_count_repeats_last_window(parity: dict) -> None:
    windows = mel_windows(parity["melspec"], 25, 50)
    assert windows.shape == (50, 80, 16)
    np.testing.assert_array_equal(
        windows[46:], np.broadcast_to(parity["melspec"][:, -16:], (4, 80, 16))
    )
    assert mel_windows(parity["melspec"], 25, 3).shape == (3, 80, 16)


def test_mel_windows_upstream_count_when_a_window_ends_exactly_at_the_end() -> None:
    mel = np.arange(80 * 24, dtype=np.float32).reshape(
        80, 24
    )  # 24 columns at 10 fps: starts 0, 8, 16 (> 8)
    windows = mel_windows(mel, 10)
    assert windows.shape == (3, 80, 16)
    np.testing.assert_array_equal(windows[1], windows[2])


def test_audio_rejects_unusable_input() -> None:
    with pytest.raises(InputError):
        melspectrogram(np.zeros(0, np.float32))
    with pytest.raises(InputError):
        melspectrogram(np.array([0.0, np.nan], np.float32))
    with pytest.raises(InputError):
        mel_windows(np.zeros((80, 15), np.float32), 25)
    with pytest.raises(InputError):
        mel_windows(np.zeros((80, 40), np.float32), 0)


def test_official_checkpoint_loads_unchanged(official_checkpoint: Path, parity: dict) -> None:
    generator = load_generator(official_checkpoint, trusted=False)
    assert not generator.training
    assert _max_error(generator, parity) < OUT_TOLERANCE


def test_torchscript_checkpoint_recognised_by_content(
    model: Wav2LipGenerator, parity: dict, tmp_path: Path
) -> None:
    path = tmp_path / "looks_pickled.pth"
    torch.jit.save(torch.jit.script(model), str(path))
    assert _max_error(load_generator(path, trusted=False), parity) < OUT_TOLERANCE


def test_wrong_shape_is_refused(official_state: dict, tmp_path: Path) -> None:
    state = dict(official_state)
    state["module.output_block.1.weight"] = torch.zeros(4, 32, 1, 1)
    path = tmp_path / "wrong.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(ResourceError, match=r"output_block\.1\.weight"):
        load_generator(path, trusted=True)


def test_missing_and_unexpected_keys_are_named(official_state: dict, tmp_path: Path) -> None:
    state = {k: v for k, v in official_state.items() if "audio_encoder.12." not in k}
    state["module.extra.weight"] = torch.zeros(1)
    path = tmp_path / "partial.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(
        ResourceError, match=r"missing: audio_encoder\.12\..*unexpected: extra\.weight"
    ):
        load_generator(path, trusted=False)


def test_full_unpickling_only_when_trusted(
    official_state: dict, parity: dict, tmp_path: Path
) -> None:
    path = tmp_path / "with_objects.pth"
    torch.save({"state_dict": official_state, "args": argparse.Namespace(lr=1e-4)}, path)
    with pytest.raises(ResourceError, match="not unpickled"):
        load_generator(path, trusted=False)
    assert _max_error(load_generator(path, trusted=True), parity) < OUT_TOLERANCE


def test_corrupt_or_missing_file_is_a_resource_error(tmp_path: Path) -> None:
    page = tmp_path / "wav2lip.pth"
    page.write_text("<!DOCTYPE html><html>Sign in</html>")
    for trusted in (False, True):
        with pytest.raises(ResourceError):
            load_generator(page, trusted=trusted)
    with pytest.raises(ResourceError, match="does not exist"):
        load_generator(tmp_path / "absent.pth", trusted=True)
