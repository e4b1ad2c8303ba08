"""Enlarging a portrait: bicubic, or learned (Real-ESRGAN on the ncnn runtime, in tiles)."""
