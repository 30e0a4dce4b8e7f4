"""Falcon resources: read input, call one service, write resp.media."""
