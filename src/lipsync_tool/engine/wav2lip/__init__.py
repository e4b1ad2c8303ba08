"""Wav2Lip: a re-implementation of the generator, its audio front-end and its checkpoint loader."""
