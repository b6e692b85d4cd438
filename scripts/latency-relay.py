#!/usr/bin/env python3
"""A TCP relay on loopback that delays each direction by DELAY_MS: a link
with latency for scripts/bench (this kernel has no `tc netem`).

    latency-relay.py TARGET_PORT DELAY_MS STATS_FILE

Prints the port it listens on (127.0.0.1), then relays every connection to
127.0.0.1:TARGET_PORT. Each chunk read from one side is written to the other
DELAY_MS after it arrived (latency, no bandwidth limit; order kept), with
TCP_NODELAY on every socket so the relay adds no Nagle delay of its own.

When a connection ends it appends one line to STATS_FILE:

    flights=N up=BYTES down=BYTES

`flights` counts the client's turns: data from the client that follows data
from the server (or starts the connection). Each is a round trip the client
waited for, except a last goodbye (Terminate) that gets no answer. The TCP
handshake itself is not delayed (it completes in the kernel). The relay
never looks at the bytes, which are TLS records anyway.
"""

import queue
import socket
import sys
import threading
import time


def main():
    target_port = int(sys.argv[1])
    delay = float(sys.argv[2]) / 1000.0
    stats_path = sys.argv[3]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    lock = threading.Lock()
    while True:
        client, _ = listener.accept()
        threading.Thread(
            target=serve, args=(client, target_port, delay, stats_path, lock), daemon=True
        ).start()


def serve(client, target_port, delay, stats_path, lock):
    server = socket.create_connection(("127.0.0.1", target_port))
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    state = {"last": None, "flights": 0, "up": 0, "down": 0}
    state_lock = threading.Lock()
    done = threading.Event()

    def direction(src, dst, name):
        q = queue.Queue()

        def reader():
            while True:
                try:
                    data = src.recv(65536)
                except OSError:
                    data = b""
                now = time.monotonic()
                if data:
                    with state_lock:
                        if name == "up" and state["last"] != "up":
                            state["flights"] += 1
                        state["last"] = name
                        state[name] += len(data)
                q.put((now + delay, data))
                if not data:
                    return

        def writer():
            while True:
                due, data = q.get()
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                if not data:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    done.set()
                    return
                try:
                    dst.sendall(data)
                except OSError:
                    done.set()
                    return

        threads = [threading.Thread(target=reader, daemon=True), threading.Thread(target=writer, daemon=True)]
        for t in threads:
            t.start()
        return threads

    threads = direction(client, server, "up") + direction(server, client, "down")
    # The connection is over once both directions have ended (or one failed).
    for t in threads:
        t.join(timeout=60)
    for s in (client, server):
        try:
            s.close()
        except OSError:
            pass
    with lock, open(stats_path, "a") as f:
        f.write("flights=%d up=%d down=%d\n" % (state["flights"], state["up"], state["down"]))


if __name__ == "__main__":
    main()
