"""Loopback TCP proxies for tests and benchmarks. TcpProxy listens on a free
port and relays each client to 127.0.0.1:upstream_port; subclasses change
when the upstream side is connected (serve) or what happens to the bytes
(pipe)."""
import socket
import threading


class TcpProxy:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.closed = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closed = True
        self.sock.close()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client):
        """Connect upstream and relay both ways (one thread a direction)."""
        try:
            up = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        except OSError:
            client.close()
            return
        # relay each chunk as it comes: with Nagle on, a small chunk sent
        # behind one not yet acknowledged waits for the peer's delayed ACK
        # (~40 ms on Linux), a stall the server itself does not cause
        for s in (client, up):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=self.pipe, args=(up, client, True), daemon=True).start()
        threading.Thread(target=self.pipe, args=(client, up, False), daemon=True).start()

    def pipe(self, src, dst, from_server):
        """Copy src to dst until either side closes."""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            shut(src, dst)


def shut(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
