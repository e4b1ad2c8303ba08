"""Speech analysis: from audio samples to per-frame mouth targets."""
