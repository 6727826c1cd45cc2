// The node socket.io 4 peer of the benchmark: clients connect with auth {id}; POST /push/ID
// emits event "message" with the body to that client. Usage: node server.js PORT
"use strict";
const http = require("node:http");
const { Server } = require("socket.io");

const sidOf = new Map();
const httpServer = http.createServer((req, res) => {
  const match = /^\/push\/([^/?]+)$/.exec(req.url ?? "");
  if (req.method !== "POST" || !match) {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const socket = io.sockets.sockets.get(sidOf.get(match[1]));
    if (!socket) {
      res.writeHead(404).end();
      return;
    }
    socket.emit("message", Buffer.concat(chunks).toString());
    res.writeHead(200, { "Content-Length": "2" }).end("ok");
  });
});
const io = new Server(httpServer, { perMessageDeflate: false, httpCompression: false });
io.on("connection", (socket) => {
  const id = String(socket.handshake.auth.id);
  sidOf.set(id, socket.id);
  socket.on("disconnect", () => sidOf.delete(id));
});
httpServer.keepAliveTimeout = 120000;
httpServer.listen(Number(process.argv[2]), "127.0.0.1");
