"""Run inside a SadTalker checkout with the isolated venv's python (`python -c <this file>`; cwd = checkout):
exercises the code paths that break on Python 3.11 / new numpy (align_img, calculate_points, the mel front-end,
kornia's warp_affine, basicsr/gfpgan imports) and a forward pass of each network with random weights (no model
files can be fetched on the build machines). Prints one JSON line."""

import json
import time

t0 = time.time()
import numpy as np
import torch
import yaml
from facexlib.alignment import landmark_98_to_68
from kornia.geometry import warp_affine
from PIL import Image
from src.face3d.util.load_mats import load_lm3d
from src.face3d.util.my_awing_arch import calculate_points
from src.face3d.util.preprocess import align_img
from src.utils.audio import melspectrogram

res = {}
lm3d = load_lm3d("src/config")
img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8))
lm = np.random.default_rng(1).uniform(80, 180, (68, 2)).astype(np.float32)
trans, im, lmo, _ = align_img(img, lm, lm3d)
res["align_img"] = [float(x) for x in trans]
pts = calculate_points(np.random.default_rng(2).random((1, 98, 64, 64)).astype(np.float32))
res["calculate_points"] = list(pts.shape)
res["landmark_98_to_68"] = list(landmark_98_to_68(pts[0]).shape)
wav = (0.1 * np.sin(np.arange(16000) / 16000 * 2 * np.pi * 220)).astype(np.float32)
res["mel"] = list(melspectrogram(wav).shape)
res["warp_affine"] = list(warp_affine(torch.rand(1, 3, 8, 8), torch.eye(2, 3)[None], (8, 8)).shape)
# the three networks with random weights, forward on CPU
from src.face3d.models import networks

net = networks.define_net_recon(net_recon="resnet50", use_last_fc=False, init_path="").eval()
with torch.no_grad():
    res["net_recon"] = list(net(torch.rand(1, 3, 224, 224)).shape)
from src.facerender.modules.generator import OcclusionAwareSPADEGenerator
from src.facerender.modules.keypoint_detector import KPDetector
from src.facerender.modules.mapping import MappingNet

cfg = yaml.safe_load(open("src/config/facerender.yaml"))
mp = cfg["model_params"]
gen = OcclusionAwareSPADEGenerator(**mp["generator_params"], **mp["common_params"]).eval()
kp = KPDetector(**mp["kp_detector_params"], **mp["common_params"]).eval()
mapping = MappingNet(**mp["mapping_params"]).eval()
from src.facerender.modules.make_animation import keypoint_transformation

with torch.no_grad():
    src = torch.rand(1, 3, 256, 256)
    kp_c = kp(src)
    he = mapping(torch.rand(1, 70, 27))
    kp_s = keypoint_transformation(kp_c, he)
    out = gen(src, kp_source=kp_s, kp_driving=kp_s)
    res["generator"] = list(out["prediction"].shape)
from src.audio2pose_models.audio2pose import Audio2Pose
from yacs.config import CfgNode as CN

with open("src/config/auido2pose.yaml") as f:
    cfg_pose = CN.load_cfg(f)
pose = Audio2Pose(cfg_pose, None, device="cpu").eval()
res["audio2pose"] = type(pose).__name__
res["seconds"] = round(time.time() - t0, 1)
print(json.dumps(res))
