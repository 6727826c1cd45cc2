"""Client transports: WebSocket, long polling, and the hub between them and the bus."""
