"""Renderers: pure functions from the descriptor model to generated text."""
