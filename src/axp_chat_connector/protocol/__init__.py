"""Sans-I/O client protocol: command models and limits (`frames`), parsing and encoding
(`codec`), event builders (`events`) and the wire vocabulary (`codes`).

Import the modules themselves (`from axp_chat_connector.protocol import codec`): the package
imports none of them, so that `errors` can take its close codes from `codes` while `codec`
takes its errors from `errors`."""
