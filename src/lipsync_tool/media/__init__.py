"""Media I/O: ffmpeg, audio decoding, portrait loading and probing."""
