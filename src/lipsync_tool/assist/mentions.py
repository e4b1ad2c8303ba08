"""The files a prompt names, read by code before any model sees it.

Words in quotes are text to be spoken, never instructions or file names. Outside them, any word
with a portrait's, a recording's or a video's ending names a file: one in the working folder, a
new video to write, or a question for the user (a file the folder lacks, a path outside it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..media.audio import AUDIO_SUFFIXES
from ..media.image import PORTRAIT_SUFFIXES
from ..media.output import CONTAINERS
from .folder import Folder

QUOTES = {
    '"': '"',
    "'": "'",
    "\u201c": "\u201d",
    "\u2018": "\u2019",
    "\u00ab": "\u00bb",
    "\u201e": "\u201c",
}
"""Opening quote marks and the mark that closes each."""
WORD = re.compile(r"[^\s,;:()<>\[\]{}!?\"\u201c\u201d\u2018\u2019\u00ab\u00bb]+")
FILE_SUFFIXES = frozenset(PORTRAIT_SUFFIXES) | AUDIO_SUFFIXES | frozenset(CONTAINERS)
SAID = re.compile(r"\b(?:say|says|saying|read|reads|words|text)\s*:\s*([^\W_].*?)\s*$", re.I | re.S)
"""Unquoted words to speak: what follows "say:" or "words:" to the end of the request."""


@dataclass(frozen=True)
class Question:
    """What the assistant asks instead of planning: `topic` (portrait, speech, unknown_file,
    outside) and the words it says."""

    topic: str
    text: str


@dataclass(frozen=True)
class Mentions:
    """The folder's files a prompt names (in order), the new videos it names, or a question."""

    files: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    question: Question | None = None
    quotes: tuple[str, ...] = ()
    """The quoted stretches: words to speak, exactly as written."""
    words: frozenset[str] = frozenset()
    """The words outside quotes, in lower case."""
    plain: str = ""
    """The request outside its quotes, in lower case: where settings are asked for."""


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """(start, stop) of each quoted stretch, quotes excluded. A mark opens a quote only after a
    non-letter (so "it's" opens nothing) and closes it only before one."""
    spans = []
    index = 0
    while index < len(text):
        mark = text[index]
        if mark in QUOTES and (index == 0 or not text[index - 1].isalnum()):
            closing = QUOTES[mark]
            end = index + 1
            while end < len(text) and not (
                text[end] == closing and (end + 1 == len(text) or not text[end + 1].isalnum())
            ):
                end += 1
            if end < len(text):
                spans.append((index + 1, end))
                index = end + 1
                continue
        index += 1
    return spans


def unquoted(text: str) -> str:
    """`text` with every quoted stretch blanked out."""
    chars = list(text)
    for start, stop in quoted_spans(text):
        chars[start:stop] = " " * (stop - start)
    return "".join(chars)


def file_words(text: str) -> list[str]:
    """The words outside quotes that name files (by their ending)."""
    words = (word.rstrip(".") for word in WORD.findall(unquoted(text)))
    return [w for w in words if PurePosixPath(w.lower()).suffix in FILE_SUFFIXES]


def outside(name: str) -> bool:
    """A path that leaves the working folder (absolute, home, `..`, or a Windows path)."""
    if "\\" in name or ":" in name or name.startswith("~"):
        return True
    path = PurePosixPath(name)
    return path.is_absolute() or ".." in path.parts


def read_mentions(prompt: str, folder: Folder) -> Mentions:
    """The files `prompt` names, checked against `folder`."""
    files: list[str] = []
    outputs: list[str] = []
    for word in file_words(prompt):
        if outside(word):
            return Mentions(
                question=Question(
                    "outside",
                    f"I only use files in this folder ({folder.root}); {word} is outside it. "
                    "Copy it here, or name a file that is.",
                )
            )
        found = folder.find(word)
        if found is not None:
            files.append(found)
        elif PurePosixPath(word.lower()).suffix in CONTAINERS:
            outputs.append(word)  # a video that does not exist yet: the one to write
        else:
            listed = ", ".join(folder.files) or "no portraits or recordings"
            return Mentions(
                question=Question(
                    "unknown_file",
                    f"I can't find {word} in this folder. Which file did you mean? It holds: {listed}.",
                )
            )
    quotes = [prompt[start:stop] for start, stop in quoted_spans(prompt)]
    plain = unquoted(prompt)
    said = SAID.search(plain)
    if said is not None:
        quotes.append(said.group(1))
        plain = plain[: said.start(1)]
    words = frozenset(w.lower() for w in re.findall(r"[^\W\d_]+", plain))
    return Mentions(
        tuple(dict.fromkeys(files)),
        tuple(dict.fromkeys(outputs)),
        None,
        tuple(quotes),
        words,
        plain.lower(),
    )
