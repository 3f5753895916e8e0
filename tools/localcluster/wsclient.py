"""A minimal WebSocket client (RFC 6455, text messages, Python standard library only) for
tests and benchmarks of waihud's live stream (docs/seat-api.md)."""
import base64
import json
import os
import socket
import struct
import time


class Closed(Exception):
    """The server closed the connection: code and reason as it sent them."""

    def __init__(self, code, reason):
        super().__init__("closed %s %s" % (code, reason))
        self.code, self.reason = code, reason


class WsClient:
    def __init__(self, address, path="/v1/stream", timeout=10.0):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, address, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the upgrade")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ", 2)[1])
        if self.status != 101:
            raise ConnectionError("upgrade refused: " + head.decode(errors="replace"))

    def send_text(self, text, opcode=1):
        data = text.encode() if isinstance(text, str) else text
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(head + mask + body)

    def send_json(self, doc):
        self.send_text(json.dumps(doc))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection dropped")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self, timeout=10.0):
        """The next text message (str); raises Closed on a close frame, socket.timeout."""
        self.sock.settimeout(timeout)
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        data = self._read(n)
        op = b0 & 0x0F
        if op == 8:
            code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
            raise Closed(code, data[2:].decode(errors="replace"))
        if op in (9, 10):  # ping/pong: not used by the server; skip
            return self.recv(timeout)
        return data.decode()

    def recv_json(self, timeout=10.0):
        return json.loads(self.recv(timeout))

    def wait_for(self, pred, timeout=10.0):
        """Reads messages until pred(doc) holds; returns that doc."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching message in %.1f s" % timeout)
            doc = self.recv_json(left)
            if pred(doc):
                return doc

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
