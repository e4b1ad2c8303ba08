"""Stand-in for upstream Wav2Lip's inference.py with the same command-line contract (for the tests only).

Parses with a parser rebuilt from wav2lip_inference_args.json, treats --face as upstream does
(`split('.')[1]` decides image or video), writes temp/result.avi (the face, with the --box region
inverted so the test can see where the box landed) with one frame per mel chunk as upstream counts
them, then muxes --outfile with the `ffmpeg` found on PATH, ignoring its exit status as upstream
does. STANDIN_MODE=crash fails like upstream when no face is found; STANDIN_MODE=no_outfile skips
the mux. Everything it saw is recorded in standin_record.json in the working directory.
"""

import json
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import audio  # noqa: F401  (must come from the checkout, through PYTHONPATH)
import numpy as np
from PIL import Image
from wav2lip_args import build_parser

HERE = Path(__file__).resolve().parent
args = build_parser(json.loads((HERE / "wav2lip_inference_args.json").read_text())).parse_args()
mode = os.environ.get("STANDIN_MODE", "")
is_image = os.path.isfile(args.face) and args.face.split(".")[1] in ["jpg", "png", "jpeg"]
s3fd = HERE / "face_detection" / "detection" / "sfd" / "s3fd.pth"
record = {
    "argv": sys.argv[1:],
    "args": vars(args),
    "cwd": os.getcwd(),
    "ffmpeg": shutil.which("ffmpeg"),
    "audio_module": audio.__file__,
    "is_image": is_image,
    "s3fd": s3fd.read_bytes().hex() if s3fd.exists() else None,
    "temp_dir": os.path.isdir("temp"),
    "checkpoint_exists": os.path.isfile(args.checkpoint_path),
}
Path("standin_record.json").write_text(json.dumps(record))

if mode == "crash":
    print("Using cpu for inference.")
    sys.stderr.write(
        'Traceback (most recent call last):\n  File "inference.py", line 92, in face_detect\n'
    )
    raise ValueError("Face not detected! Ensure the video contains a face in all the frames.")
if not is_image:
    raise SystemExit("stand-in: --face is not an image by upstream's split('.')[1] test")

with wave.open(args.audio) as handle:
    samples_16k = int(handle.getnframes() * 16000 / handle.getframerate())
mel_frames = 1 + samples_16k // 200
chunks, i = 0, 0
while True:
    chunks += 1
    if int(i * 80.0 / args.fps) + 16 > mel_frames:
        break
    i += 1

frame = np.asarray(Image.open(args.face).convert("RGB")).copy()
y1, y2, x1, x2 = args.box
if y1 != -1:
    frame[y1:y2, x1:x2] = 255 - frame[y1:y2, x1:x2]
Image.fromarray(frame).save("temp/frame.png")
subprocess.run(
    [
        "ffmpeg",
        "-y",
        "-loglevel",
        "error",
        "-loop",
        "1",
        "-framerate",
        f"{args.fps:g}",
        "-i",
        "temp/frame.png",
        "-frames:v",
        str(chunks),
        "-c:v",
        "mpeg4",
        "-q:v",
        "2",
        "temp/result.avi",
    ],
    check=True,
)
if mode != "no_outfile":
    subprocess.call(
        [
            "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-i",
            args.audio,
            "-i",
            "temp/result.avi",
            "-strict",
            "-2",
            "-q:v",
            "1",
            args.outfile,
        ]
    )
