"""Holds every packet of an NFQUEUE queue for a fixed time, then lets it through: the delay
between the test hosts' regions (netem is missing here; see scripts/test-hosts `delay`).

    python delay.py QUEUE_NUM DELAY_MS

One thread: the queue's socket is polled with a timeout that ends at the next packet due, so
packets leave in arrival order, each DELAY_MS after it came. Needs NetfilterQueue (PyPI, built
against Debian's libnetfilter-queue-dev) and root in the namespace whose rules feed the queue.
"""

import heapq
import itertools
import select
import signal
import sys
import time

from netfilterqueue import NetfilterQueue


def main() -> None:
    queue_num, delay = int(sys.argv[1]), int(sys.argv[2]) / 1000.0
    held: list = []
    order = itertools.count()

    def hold(packet) -> None:
        heapq.heappush(held, (time.monotonic() + delay, next(order), packet))

    queue = NetfilterQueue()
    queue.bind(queue_num, hold, max_len=65536)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    fd = queue.get_fd()
    print(f"delay: queue {queue_num}, {delay * 1000:.0f} ms", file=sys.stderr, flush=True)
    try:
        while True:
            timeout = max(0.0, held[0][0] - time.monotonic()) if held else None
            ready, _, _ = select.select([fd], [], [], timeout)
            if ready:
                queue.run(block=False)
            now = time.monotonic()
            while held and held[0][0] <= now:
                heapq.heappop(held)[2].accept()
    finally:
        for _, _, packet in held:
            packet.accept()
        queue.unbind()


if __name__ == "__main__":
    main()
