"""Pydantic models of AXP payloads, generated from Avaya's OpenAPI files (never by hand).

`*_out_gen` are strict (what the connector sends, what the emulator accepts); `*_in_gen` keep
unknown fields and accept unknown enum values (what the connector receives). Regenerate with
`.venv/bin/python scripts/generate_models.py`.
"""
