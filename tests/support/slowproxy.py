"""A TCP proxy on loopback that holds every new connection for `delay`
seconds before connecting it upstream: makes a request slow on purpose
(graceful-shutdown tests)."""
import time

from tcpproxy import TcpProxy


class SlowProxy(TcpProxy):
    def __init__(self, upstream_port: int, delay: float):
        self.delay = delay
        super().__init__(upstream_port)

    def serve(self, client):
        time.sleep(self.delay)
        super().serve(client)
