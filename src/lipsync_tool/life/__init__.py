"""Blinks and head motion of a still portrait, shared by the engines that animate one."""
