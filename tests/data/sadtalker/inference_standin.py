"""Stand-in for upstream SadTalker's inference.py (tests only; standard library + the `ffmpeg` found on PATH).

Implements upstream's command-line contract (the parser is rebuilt from sadtalker_inference_args.json) and its
result layout: renders into <result_dir>/<YYYY_MM_DD_HH.MM.SS>/<pic>##<audio>[_full|_enhanced].mp4, moves that to
<result_dir>/<YYYY_MM_DD_HH.MM.SS>.mp4, prints "The generated video is named: ..." and deletes the folder unless
--verbose. Like upstream it needs cwd = repository root (src/config resolved from argv[0], gfpgan/weights relative
to cwd) and the checkpoint files of its --size/--preprocess. SADTALKER_STANDIN_MODE=noface|oom|crash|enospc
imitates upstream's failures; SADTALKER_STANDIN_RECORD=<file> records argv, cwd and timings as JSON.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import wave
from time import strftime

from sadtalker_args import load_parser


def fail(lines, status=1):
    sys.stderr.write("\n".join(lines) + "\n")
    sys.exit(status)


def check_layout(args):
    root = os.path.split(sys.argv[0])[0]
    if not os.path.isfile(os.path.join(root, "src/config", "facerender.yaml")):
        fail(
            ["Traceback (most recent call last):", "FileNotFoundError: src/config/facerender.yaml"]
        )
    mapping = (
        "mapping_00109-model.pth.tar"
        if "full" in args.preprocess
        else "mapping_00229-model.pth.tar"
    )
    needed = [
        os.path.join(args.checkpoint_dir, f"SadTalker_V0.0.2_{args.size}.safetensors"),
        os.path.join(args.checkpoint_dir, mapping),
        "gfpgan/weights/detection_Resnet50_Final.pth",
        "gfpgan/weights/alignment_WFLW_4HG.pth",
    ]
    if args.enhancer == "gfpgan":
        needed += ["gfpgan/weights/GFPGANv1.4.pth", "gfpgan/weights/parsing_parsenet.pth"]
    for path in needed:
        if not os.path.isfile(path):
            fail(
                [
                    "Traceback (most recent call last):",
                    f"FileNotFoundError: [Errno 2] No such file: '{path}'",
                ]
            )


def imitate_failure(mode):
    if mode == "noface":
        print("3DMM Extraction for source image")
        print("Can't get the coeffs of the input")
        sys.exit(0)
    if mode == "oom":
        fail(
            [
                "Traceback (most recent call last):",
                '  File "src/facerender/animate.py", line 186, in generate',
                "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
            ]
        )
    if mode == "enospc":
        fail(["Traceback (most recent call last):", "OSError: [Errno 28] No space left on device"])
    if mode == "crash":
        fail([f"crash line {i}" for i in range(1, 26)] + ["ValueError: stand-in crash"])


def render(args, save_dir):
    pic = os.path.splitext(os.path.split(args.source_image)[-1])[0]
    audio = os.path.splitext(os.path.split(args.driven_audio)[-1])[0]
    suffix = "_enhanced" if args.enhancer else "_full" if "full" in args.preprocess else ""
    clip = os.path.join(save_dir, f"{pic}##{audio}{suffix}.mp4")
    with wave.open(args.driven_audio) as handle:
        seconds = handle.getnframes() / handle.getframerate()
    frames = max(1, int(seconds * 25))
    for batch in range(0, frames, args.batch_size):
        done = min(frames, batch + args.batch_size)
        sys.stderr.write(
            f"Face Renderer::  {100 * done // frames}%|##| {done}/{frames} [00:00<00:00, 9.99it/s]\r"
        )
    sys.stderr.write("\n")
    ffmpeg = shutil.which("ffmpeg")
    size = f"{args.size}x{args.size}"
    subprocess.run(
        [
            ffmpeg,
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size={size}:rate=25",
            "-i",
            args.driven_audio,
            "-frames:v",
            str(frames),
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            clip,
        ],
        check=True,
    )
    return clip


def main():
    started = time.time()
    args = load_parser(
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "sadtalker_inference_args.json")
    ).parse_args()
    record = os.environ.get("SADTALKER_STANDIN_RECORD")
    if record:
        with open(record, "w") as handle:
            json.dump(
                {
                    "argv": sys.argv,
                    "cwd": os.getcwd(),
                    "args": vars(args),
                    "ffmpeg": shutil.which("ffmpeg"),
                    "started": started,
                },
                handle,
            )
    check_layout(args)
    save_dir = os.path.join(args.result_dir, strftime("%Y_%m_%d_%H.%M.%S"))
    os.makedirs(save_dir, exist_ok=True)
    imitate_failure(os.environ.get("SADTALKER_STANDIN_MODE", ""))
    clip = render(args, save_dir)
    shutil.move(clip, save_dir + ".mp4")
    print("The generated video is named:", save_dir + ".mp4")
    if not args.verbose:
        shutil.rmtree(save_dir)


if __name__ == "__main__":
    main()
