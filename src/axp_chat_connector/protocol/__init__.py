"""Sans-I/O client protocol: command models and limits (`frames`), parsing and encoding
(`codec`), event builders (`events`) and the wire vocabulary (`codes`)."""

from axp_chat_connector.protocol.codec import InvalidFrame, encode, error, ok, parse_command
from axp_chat_connector.protocol.frames import Command, CommandId

__all__ = ["Command", "CommandId", "InvalidFrame", "encode", "error", "ok", "parse_command"]
