"""Our own Wav2Lip inference: one face crop, one mel window per frame, batches through the generator, pasted back.

For a still portrait the face input is the same for every frame, so the generator's face
encoder runs once and only the audio encoder and the decoder run per frame (the output is the
same as running the whole network per frame). Frames are produced lazily, one batch of
generated faces at a time; per-stage seconds accumulate in the job's clock.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from ...control import ProgressCallback, no_progress
from ...errors import EngineError
from ...upscale.enlarge import MIN_LEARNED_FACTOR, enlarge, scaled_size, video_scale
from ..base import EngineContext, EngineJob, FrameStream
from .audio import HOP, SAMPLE_RATE, WINDOW_COLUMNS, melspectrogram, window_starts, windows_at
from .checkpoint import resolve_checkpoint
from .device import DeviceChoice, batch_for_memory, free_memory, run_batches, select_device
from .facebox import Box, detected_rect, face_boxes, manual_box, scale_box
from .options import Wav2LipOptions, Wav2LipSettings
from .paste import FIRST_USED_ROW, FacePaster, crop_face, face_input
from .sharp_mouth import SharpMouth

if TYPE_CHECKING:
    import torch

    from ...upscale.realesrgan import RealEsrgan

log = logging.getLogger(__name__)

STAGES = ("load", "detect", "mel", "generator", "paste")
"""The engine's stages in `RenderResult.engine_seconds`."""
CPU_BATCH = 16  # on the CPU larger batches are no faster and take far more memory
CUDA_BATCH = 128  # upstream's default


@dataclass(frozen=True)
class PreparedFace:
    """The face of one still portrait, ready for every frame."""

    box: Box
    """Where generated faces are pasted, in frame pixels."""
    face_input: np.ndarray
    """(6, 96, 96) float32 generator input (masked crop, then reference; BGR, [0, 1])."""
    paster: FacePaster
    crop: np.ndarray
    """The (96, 96, 3) BGR crop the generator sees (the colour reference of the paste)."""


def enlarged_face(
    face: PreparedFace, job: EngineJob[Wav2LipOptions], network: RealEsrgan
) -> PreparedFace:
    """`face` pasted into the portrait enlarged to the video's size with the network's detail, its
    generated mouths enlarged the same way; as it is when the portrait is nearly that size."""
    height, width = job.portrait.shape[:2]
    scale = video_scale(width, height)
    if scale < MIN_LEARNED_FACTOR:
        return face
    size = scaled_size(width, height, scale)
    image = enlarge(job.portrait, size, network, job.face.landmarks.points)
    x1, y1, x2, y2 = scale_box(face.box, scale)
    box = (x1, y1, min(x2, size[0]), min(y2, size[1]))
    paster = FacePaster(image, box, face.crop, resize=SharpMouth(network))
    return replace(face, box=box, paster=paster)


class NativeWav2Lip:
    """Renders jobs with our generator, loaded once per Renderer (checkpoint and device)."""

    def __init__(
        self,
        settings: Wav2LipSettings,
        context: EngineContext,
        *,
        generator: torch.nn.Module | None = None,
    ) -> None:
        self.settings = settings
        self.context = context
        self._generator = generator
        self._injected = generator is not None
        self._device: DeviceChoice | None = None

    def load(self, progress: ProgressCallback = no_progress) -> None:
        """Fetch (when missing) and load the checkpoint on the chosen device."""
        self._model(progress)

    def render(
        self, job: EngineJob[Wav2LipOptions], network: RealEsrgan | None = None
    ) -> FrameStream:
        """A FrameStream of job.frame_count RGB frames of the portrait's size, or with a `network`,
        of the video's size (the portrait and every generated mouth enlarged with its detail)."""
        clock = job.clock
        for stage in STAGES:
            clock.add(stage, 0.0)
        with clock.stage("detect"):
            face = self.prepare_face(job)
        if network is not None:
            with clock.stage("upscale"):
                face = enlarged_face(face, job, network)
        with clock.stage("load"):
            model, device = self._model(job.progress)
        with clock.stage("mel"):
            mel, starts = self._mel(job)
        options: Wav2LipOptions = job.options
        requested = options.batch_size or (CUDA_BATCH if device.device == "cuda" else CPU_BATCH)
        batch = batch_for_memory(requested, free_memory(device.device), half=device.half)
        if batch < requested:
            log.info("generator batch lowered from %d to %d to fit in memory", requested, batch)
        height, width = face.paster.frame.shape[:2]
        frames = self._frames(model, device, face, mel, starts, batch, job)
        return FrameStream(size=(width, height), count=len(starts), frames=frames)

    def prepare_face(self, job: EngineJob[Wav2LipOptions]) -> PreparedFace:
        """Face box (pads, smoothing, --wav2lip-crop, --wav2lip-resize-factor), the generator's crop, and the paster."""
        opts: Wav2LipOptions = job.options
        image = job.portrait
        height, width = image.shape[:2]
        factor = opts.resize_factor
        small = image
        if factor > 1:
            small = cv2.resize(
                image,
                (max(1, width // factor), max(1, height // factor)),
                interpolation=cv2.INTER_AREA,
            )
        if opts.crop is not None:
            box = manual_box(opts.crop, image.shape)
            small_box = scale_box(box, 1.0 / factor)
        else:
            # A still portrait is one frame: detection ran once in the pipeline; smoothing a
            # single box leaves it as it is, exactly as upstream does with a one-frame input.
            rect = scale_box(detected_rect(job.face), 1.0 / factor)
            small_box = face_boxes([rect], opts.pads, small.shape, nosmooth=opts.nosmooth)[0]
            x1, y1, x2, y2 = scale_box(small_box, factor)
            box = (x1, y1, min(x2, width), min(y2, height))
        if opts.static is False:
            log.info(
                "--wav2lip-no-static changes nothing for a still portrait: its one frame makes every output frame"
            )
        if opts.face_det_batch_size != Wav2LipOptions().face_det_batch_size:
            log.info(
                "--wav2lip-face-det-batch-size changes nothing for a still portrait: its face is detected once"
            )
        crop = crop_face(small, small_box)
        log.debug("wav2lip face box %s (crop %s at 1/%d scale)", box, small_box, factor)
        return PreparedFace(
            box=box, face_input=face_input(crop), paster=FacePaster(image, box, crop), crop=crop
        )

    def _model(self, progress: ProgressCallback) -> tuple[Any, DeviceChoice]:
        device = self._device or select_device()
        self._device = device
        if self._injected:  # a generator given by the caller
            assert self._generator is not None
            return self._generator.to(device.device).eval(), device
        if self._generator is not None:
            return self._generator, device
        import torch

        from .model import fold_batch_norm, load_generator

        checkpoint = resolve_checkpoint(
            self.settings.checkpoint, self.context.cache_dir, progress=progress
        )
        half = " (fp16)" if device.half else ""
        log.info("loading Wav2Lip checkpoint %s on %s%s", checkpoint.label, device.device, half)
        generator = load_generator(
            checkpoint.path, trusted=checkpoint.trusted, device=device.device
        )
        if not device.half:
            # Under fp16 autocast batch norm stays fp32; folded weights could overflow fp16.
            generator = fold_batch_norm(generator)
        # channels_last: about 20% faster convolutions on the CPU.
        self._generator = generator.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        return self._generator, device

    def _mel(self, job: EngineJob[Wav2LipOptions]) -> tuple[np.ndarray, np.ndarray]:
        speech = job.speech
        if speech.sample_rate != SAMPLE_RATE:
            raise EngineError(
                f"wav2lip needs speech decoded at {SAMPLE_RATE} Hz, got {speech.sample_rate} Hz"
            )
        samples = speech.samples
        shortest = (WINDOW_COLUMNS - 1) * HOP  # the samples that give one full 16-column window
        if (
            len(samples) < shortest
        ):  # under 0.2 s: pad with silence rather than refuse (upstream fails)
            samples = np.concatenate(
                [samples, np.zeros(shortest - len(samples), dtype=samples.dtype)]
            )
        mel = melspectrogram(samples)
        return mel, window_starts(mel.shape[1], job.request.fps, job.frame_count)

    def _frames(
        self,
        model: Any,
        device: DeviceChoice,
        face: PreparedFace,
        mel: np.ndarray,
        starts: np.ndarray,
        batch: int,
        job: EngineJob[Wav2LipOptions],
    ) -> Iterator[np.ndarray]:
        import torch

        autocast = (
            torch.autocast("cuda", dtype=torch.float16) if device.half else contextlib.nullcontext()
        )
        clock, progress = job.clock, job.progress
        with clock.stage("generator"), torch.inference_mode(), autocast:
            face_input = torch.from_numpy(face.face_input[None]).to(device.device)
            decoder = model.still_decoder(
                face_input.contiguous(memory_format=torch.channels_last), FIRST_USED_ROW
            )

        def generate(start: int, stop: int) -> np.ndarray:
            with clock.stage("generator"), torch.inference_mode(), autocast:
                windows = torch.from_numpy(windows_at(mel, starts[start:stop])[:, None]).to(
                    device.device
                )
                out = decoder(windows)
                return out.float().permute(0, 2, 3, 1).cpu().numpy()

        release = torch.cuda.empty_cache if device.device == "cuda" else (lambda: None)
        total = len(starts)
        progress("render", 0, total)
        for _start, stop, faces in run_batches(total, batch, generate, release=release):
            for generated in faces:
                with clock.stage("paste"):
                    frame = face.paster.paste(generated)
                yield frame
            progress("render", stop, total)


__all__ = ["STAGES", "NativeWav2Lip", "PreparedFace", "enlarged_face"]
