"""Offline text-to-speech with eSpeak NG, with the true start of every phoneme.

eSpeak NG comes from the ``espeakng-loader`` wheel (its shared library and voice data); no
system package is used. The C library keeps its state in process-global variables, some of
them function-local statics that ``espeak_Initialize`` never resets (the wave generator's
pitch-flutter index, its gain control), so two syntheses in one loaded copy differ by a few
samples. Each synthesis therefore runs in a *session*: a private copy of the library is loaded,
initialised, used once and unloaded, which makes the output exactly reproducible, keeps other
users of libespeak-ng in this process (phonemizers) out of our state, and costs about 2 ms.
Initialisation also sets the process's ``LC_CTYPE`` locale; a session restores it on exit.
Sessions are serialised by one process-wide lock.

IPA comes from eSpeak itself: the same text is synthesised twice, once reporting phoneme
mnemonics and once IPA (``espeakINITIALIZE_PHONEME_IPA``); the two runs are identical sample
for sample, so their events pair up one to one.
"""

from __future__ import annotations

import ctypes
import locale
import logging
import os
import shutil
import sys
import tempfile
import threading
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from lipsync_tool.errors import EngineError, InputError, ResourceError

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 5000
RATE_RANGE = (80, 450)  # words per minute (espeakRATE_MINIMUM, espeakRATE_MAXIMUM)
PITCH_RANGE = (0, 99)
PAUSE = "_"  # eSpeak's pause phonemes all start with this: "_", "_:", "_!" ...

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_PHONEME_IPA = 0x0002
_INITIALIZE_DONT_EXIT = 0x8000  # without it a missing data folder calls exit(1)
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_PARAM_RATE = 1
_PARAM_PITCH = 3
_EE_OK = 0
_EE_NOT_FOUND = 2
_STRESS_MARKS = {"'": 2, ",": 1, "\u02c8": 2, "\u02cc": 1}  # mnemonic and IPA primary/secondary


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT`` from speak_lib.h."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    """``espeak_VOICE`` from speak_lib.h."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class PhonemeEvent:
    """One phoneme (or pause) of synthesised speech and where it lies in the audio."""

    phoneme: str  # eSpeak's mnemonic without stress mark ("oU", "b", "_:" for a pause)
    ipa: str  # IPA without stress mark ("oʊ"); empty for pauses, for linking sounds eSpeak
    # leaves out of IPA (Spanish ";"), and when IPA was unavailable
    start: float  # seconds from the start of the audio
    end: float  # seconds: the next event's start, or the end of the audio
    sample: int  # start, in samples
    stress: int = 0  # 2 primary, 1 secondary, 0 unmarked

    @property
    def is_pause(self) -> bool:
        """True for silences between phrases (and before the first phoneme)."""
        return self.phoneme.startswith(PAUSE)


@dataclass(frozen=True, eq=False)
class Speech:
    """Synthesised speech: mono float32 samples in [-1, 1] and its phoneme events."""

    samples: np.ndarray
    sample_rate: int
    events: tuple[PhonemeEvent, ...]
    voice: str
    text: str

    @property
    def duration(self) -> float:
        """Length of the audio in seconds."""
        return len(self.samples) / self.sample_rate

    def write_wav(self, path: str | Path) -> Path:
        """Write the audio as 16-bit PCM mono WAV and return its path."""
        path = Path(path)
        pcm = np.clip(np.round(self.samples * 32768.0), -32768, 32767).astype("<i2")
        with wave.open(str(path), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(self.sample_rate)
            handle.writeframes(pcm.tobytes())
        return path


@dataclass(frozen=True)
class VoiceInfo:
    """A voice eSpeak NG offers; any of its fields can be passed as ``voice``."""

    name: str  # "English (America)"
    language: str  # main language code, "en-us"
    identifier: str  # file in espeak-ng-data/voices, "gmw/en-US"
    languages: tuple[str, ...] = ()  # every language code it serves, as eSpeak lists them


@dataclass
class _Run:
    """What one synthesis produced: raw int16 chunks and (sample, name) phoneme events."""

    chunks: list[np.ndarray] = field(default_factory=list)
    events: list[tuple[int, str]] = field(default_factory=list)
    error: BaseException | None = None


class _Session:
    """One loaded, initialised private copy of libespeak-ng (see the module docstring)."""

    def __init__(self, library: ctypes.CDLL, sample_rate: int) -> None:
        self.lib = library
        self.sample_rate = sample_rate

    def list_voices(self) -> list[tuple[VoiceInfo, tuple[int, ...]]]:
        """Every voice in the data folder with its per-language priorities (lower is preferred)."""
        table = self.lib.espeak_ListVoices(None)
        voices = []
        for index in range(100_000):
            if not table[index]:
                break
            voice = table[index].contents
            pairs = _language_list(voice.languages)
            info = VoiceInfo(
                name=_text(voice.name),
                language=pairs[0][1] if pairs else "",
                identifier=_text(voice.identifier),
                languages=tuple(code for _, code in pairs),
            )
            voices.append((info, tuple(priority for priority, _ in pairs)))
        return voices

    def select_voice(self, candidates: list[str]) -> None:
        """Select the first voice eSpeak knows among `candidates` (the user's name first)."""
        for name in candidates:
            status = self.lib.espeak_SetVoiceByName(name.encode("utf-8"))
            if status != _EE_NOT_FOUND:
                _check(status, f"selecting voice {name!r}")
                return
        raise InputError(
            f"unknown eSpeak NG voice {candidates[0]!r}; run `lipsync-tool --list-voices` to see the voices"
        )

    def synthesize(self, text: str, voice: list[str], rate: int, pitch: int) -> _Run:
        """Synthesise `text` with the first known of `voice` and collect audio and phoneme events."""
        self.select_voice(voice)
        _check(self.lib.espeak_SetParameter(_PARAM_RATE, rate, 0), "setting the rate")
        _check(self.lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0), "setting the pitch")
        run = _Run()
        callback = _SynthCallback(lambda wav, count, events: _collect(run, wav, count, events))
        self.lib.espeak_SetSynthCallback(callback)
        data = text.encode("utf-8") + b"\0"
        status = self.lib.espeak_Synth(
            data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        if run.error is not None:
            raise EngineError(f"collecting eSpeak NG output failed: {run.error}") from run.error
        _check(status, "synthesising")
        return run


class EspeakSynthesizer:
    """Text to speech with phoneme timings, using the eSpeak NG shipped by ``espeakng-loader``.

    Thread-safe: calls are serialised by a process-wide lock, because the C library is
    process-global (see the module docstring). Construct once, call ``synthesize`` many times.
    """

    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._library_path, self._data_path = _locate_espeak()
        with self._session(ipa=False) as session:
            self._sample_rate = session.sample_rate
            listed = session.list_voices()
        self._voices = tuple(info for info, _ in listed)
        self._by_language = _preferred_voices(listed)

    @property
    def sample_rate(self) -> int:
        """Output sample rate in Hz, as reported by ``espeak_Initialize`` (22050)."""
        return self._sample_rate

    def voices(self) -> list[VoiceInfo]:
        """The voices available (name, main language, identifier)."""
        return list(self._voices)

    def synthesize(
        self, text: str, voice: str = "en-us", rate: int = 160, pitch: int = 50
    ) -> Speech:
        """Speak `text` with `voice` at `rate` words per minute (80..450) and `pitch` (0..99)."""
        _validate(text, voice, rate, pitch)
        candidates = self._voice_candidates(voice)
        with self._session(ipa=False) as session:
            plain = session.synthesize(text, candidates, rate, pitch)
        with self._session(ipa=True) as session:
            ipa = session.synthesize(text, candidates, rate, pitch)
        samples = np.concatenate(plain.chunks) if plain.chunks else np.zeros(0, np.int16)
        ipa_names = _matching_ipa(plain, ipa, samples)
        events = _build_events(plain.events, ipa_names, len(samples), self._sample_rate)
        audio = samples.astype(np.float32) / 32768.0
        return Speech(
            samples=audio, sample_rate=self._sample_rate, events=events, voice=voice, text=text
        )

    def _voice_candidates(self, voice: str) -> list[str]:
        """`voice`, then the voice file preferred for it as a language code ("en-gb" -> "gmw/en").

        eSpeak's ``espeak_SetVoiceByName`` knows voice names and files but not every language
        code its voices list; a variant suffix ("+f3") is kept.
        """
        base, plus, variant = voice.partition("+")
        identifier = self._by_language.get(base.strip().lower())
        return [voice] if identifier is None else [voice, identifier + plus + variant]

    @contextmanager
    def _session(self, ipa: bool) -> Iterator[_Session]:
        """Load a private copy of the library, initialise it, and unload it afterwards."""
        options = (
            _INITIALIZE_DONT_EXIT
            | _INITIALIZE_PHONEME_EVENTS
            | (_INITIALIZE_PHONEME_IPA if ipa else 0)
        )
        with self._lock, tempfile.TemporaryDirectory(prefix="lipsync-espeak-") as folder:
            saved_locale = locale.setlocale(locale.LC_CTYPE)
            copy = Path(folder) / Path(self._library_path).name
            shutil.copyfile(self._library_path, copy)
            library = _load(copy)
            try:
                sample_rate = library.espeak_Initialize(
                    _AUDIO_OUTPUT_SYNCHRONOUS, 0, os.fsencode(self._data_path), options
                )
                if sample_rate <= 0:
                    raise ResourceError(
                        f"eSpeak NG could not load its data from {self._data_path}; "
                        "reinstall it: pip install --force-reinstall espeakng-loader"
                    )
                if hasattr(library, "espeak_ng_SetRandSeed"):
                    library.espeak_ng_SetRandSeed(1)  # breathy/Klatt voices draw noise from it
                yield _Session(library, sample_rate)
            finally:
                library.espeak_Terminate()
                _unload(library)
                locale.setlocale(locale.LC_CTYPE, saved_locale)


def _locate_espeak() -> tuple[str, str]:
    """Paths of the shared library and the data folder shipped by ``espeakng-loader``."""
    try:
        import espeakng_loader
    except ImportError as error:
        raise ResourceError(
            "text-to-speech needs the eSpeak NG library from the espeakng-loader package: pip install espeakng-loader"
        ) from error
    try:
        library, data = espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
    except RuntimeError as error:  # raised when its data folder is missing
        raise ResourceError(
            f"{error}; reinstall it: pip install --force-reinstall espeakng-loader"
        ) from error
    if not Path(library).is_file():
        raise ResourceError(
            f"espeakng-loader has no library at {library}; reinstall it: pip install --force-reinstall espeakng-loader"
        )
    return library, data


def _load(path: Path) -> ctypes.CDLL:
    """Load one copy of libespeak-ng and declare the functions we call."""
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as error:
        raise ResourceError(
            f"cannot load the eSpeak NG library ({error}); reinstall it: pip install --force-reinstall espeakng-loader"
        ) from error
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
        ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
    ]  # fmt: skip
    lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
    lib.espeak_Terminate.argtypes = []
    if hasattr(lib, "espeak_ng_SetRandSeed"):
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    return lib


def _unload(library: ctypes.CDLL) -> None:
    """Unload a library copy so that the next session starts from fresh static state."""
    import _ctypes

    if sys.platform == "win32":
        _ctypes.FreeLibrary(library._handle)
    else:
        _ctypes.dlclose(library._handle)


def _collect(run: _Run, wav: ctypes._Pointer, count: int, events: ctypes._Pointer) -> int:
    """The synth callback: keep the samples and phoneme events; 1 aborts on an error."""
    try:
        if wav and count > 0:
            run.chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        index = 0
        while events[index].type != _EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == _EVENT_PHONEME:
                run.events.append((event.sample, event.id.string.decode("utf-8", errors="ignore")))
            index += 1
        return 0
    except Exception as error:  # an exception must not cross into C
        run.error = error
        return 1


def _matching_ipa(plain: _Run, ipa: _Run, samples: np.ndarray) -> list[str] | None:
    """IPA names from the IPA run, or None when the two runs do not line up."""
    same_events = [sample for sample, _ in plain.events] == [sample for sample, _ in ipa.events]
    same_audio = same_events and np.array_equal(
        samples, np.concatenate(ipa.chunks) if ipa.chunks else samples[:0]
    )
    if not same_audio:
        logger.warning("eSpeak NG's IPA run differs from its mnemonic run; events carry no IPA")
        return None
    return [name for _, name in ipa.events]


def _build_events(
    raw: list[tuple[int, str]], ipa: list[str] | None, n_samples: int, rate: int
) -> tuple[PhonemeEvent, ...]:
    """Events covering [0, end of audio]: a leading pause if needed, empty pauses dropped.

    Language-switch markers such as "(en)" are not phonemes and are dropped; the event before
    one absorbs its few milliseconds.
    """
    names = [
        (sample, name, ipa[i] if ipa else "")
        for i, (sample, name) in enumerate(raw)
        if not (name.startswith("(") and name.endswith(")"))
    ]
    if names and names[0][0] > 0:
        names.insert(0, (0, PAUSE, ""))
    events = []
    for index, (sample, name, ipa_name) in enumerate(names):
        stop = names[index + 1][0] if index + 1 < len(names) else n_samples
        stop = max(stop, sample)
        if name.startswith(PAUSE) and stop == sample:
            continue  # a zero-length pause marks a clause boundary, not a silence
        phoneme, stress = _split_stress(name)
        events.append(
            PhonemeEvent(
                phoneme=phoneme,
                ipa=_split_stress(ipa_name)[0],
                start=sample / rate,
                end=stop / rate,
                sample=sample,
                stress=stress,
            )
        )
    return tuple(events)


def _split_stress(name: str) -> tuple[str, int]:
    """Strip the stress mark eSpeak puts before a stressed vowel; return (name, stress)."""
    if name[:1] in _STRESS_MARKS:
        return name[1:], _STRESS_MARKS[name[0]]
    return name, 0


def _validate(text: str, voice: str, rate: int, pitch: int) -> None:
    """Raise InputError for unusable arguments."""
    if not text or not text.strip():
        raise InputError("the text to speak is empty; give some words with --text")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(
            f"the text to speak has {len(text)} characters, over the limit of {MAX_TEXT_CHARS}; split it into parts"
        )
    if "\0" in text:
        raise InputError("the text to speak contains a NUL character; remove it")
    if not voice or not voice.strip():
        raise InputError("no voice given; run `lipsync-tool --list-voices` to see the voices")
    if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
        raise InputError(
            f"speech rate {rate} is outside {RATE_RANGE[0]}..{RATE_RANGE[1]} words per minute"
        )
    if not PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1]:
        raise InputError(f"pitch {pitch} is outside {PITCH_RANGE[0]}..{PITCH_RANGE[1]}")


def _check(status: int, action: str) -> None:
    """Raise EngineError when an eSpeak call did not return EE_OK."""
    if status != _EE_OK:
        raise EngineError(f"eSpeak NG failed while {action} (status {status})")


def _preferred_voices(listed: list[tuple[VoiceInfo, tuple[int, ...]]]) -> dict[str, str]:
    """Lower-case language code -> identifier of the voice with the best priority for it."""
    ranked = sorted(
        (priority, order, code.lower(), info.identifier)
        for order, (info, priorities) in enumerate(listed)
        for code, priority in zip(info.languages, priorities)
    )
    best: dict[str, str] = {}
    for _, _, code, identifier in ranked:
        best.setdefault(code, identifier)
    return best


def _language_list(pointer: int | None) -> list[tuple[int, str]]:
    """Decode ``espeak_VOICE.languages``: (priority byte, NUL-terminated code) pairs, then NUL."""
    codes: list[tuple[int, str]] = []
    offset = 0
    while pointer and (priority := ctypes.string_at(pointer + offset, 1)) != b"\0":
        code = ctypes.string_at(pointer + offset + 1)
        codes.append((priority[0], code.decode("utf-8", errors="replace")))
        offset += len(code) + 2
    return codes


def _text(value: bytes | None) -> str:
    """A C string from the library as str."""
    return value.decode("utf-8", errors="replace") if value else ""
