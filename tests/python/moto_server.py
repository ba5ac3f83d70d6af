"""moto's S3-compatible server for the tests (tests/support/moto.rs).

Listens on a free loopback port and prints it, then serves until its
standard input closes (the test process that started it ended) or for an
hour at most.
"""

import sys
import threading

from moto.server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
closed = threading.Event()


def wait_for_eof():
    sys.stdin.read()
    closed.set()


threading.Thread(target=wait_for_eof, daemon=True).start()
closed.wait(timeout=3600)
server.stop()
