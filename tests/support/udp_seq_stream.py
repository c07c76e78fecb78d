#!/usr/bin/env python3
"""A paced UDP stream with sequence numbers, and its receiver, for loss measurements.

send:    udp_seq_stream.py send --source IP:PORT --to IP:PORT --rate PPS --seconds S
         Payload: 8-byte big-endian sequence number (from 0), 8-byte stream id, padding.
         Prints the number of datagrams sent (the last sequence number + 1).
receive: udp_seq_stream.py receive --bind IP:PORT --progress FILE --report FILE
         Until SIGTERM: records every sequence number per (source, stream id). Every 100 ms
         it rewrites --progress with the highest sequence number seen per stream, so a test
         can mark "from here on the session is established". On SIGTERM it writes --report:
         {"SOURCE/STREAM": {"received": N, "duplicates": N, "seqs": [[first, last], ...]}}
         with seqs as closed ranges of what arrived.
Only the system's standard library: it runs with `python3 -I` inside network namespaces.
"""
import argparse
import json
import os
import signal
import socket
import struct
import sys
import time

HEADER = struct.Struct("!QQ")


def address(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def send(args):
    family = socket.AF_INET6 if ":" in address(args.to)[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind(address(args.source))
    destination = address(args.to)
    padding = b"\0" * max(0, args.size - HEADER.size)
    total = int(args.rate * args.seconds)
    start = time.monotonic()
    for seq in range(total):
        # Paced against the start time, so a slow iteration is caught up, not accumulated.
        due = start + seq / args.rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        while True:
            try:
                sock.sendto(HEADER.pack(seq, args.stream) + padding, destination)
                break
            except (BlockingIOError, ConnectionRefusedError):
                continue  # ICMP errors from earlier datagrams must not end the stream
    print(total)


def ranges(seqs):
    out = []
    for seq in sorted(seqs):
        if out and seq == out[-1][1] + 1:
            out[-1][1] = seq
        elif not out or seq > out[-1][1]:
            out.append([seq, seq])
    return out


def write_atomically(path, data):
    temporary = path + ".tmp"
    with open(temporary, "w") as f:
        json.dump(data, f)
    os.replace(temporary, path)


def receive(args):
    host, port = address(args.bind)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    # A big buffer, so a receiver descheduled for a while loses nothing itself (FORCE: past
    # net.core.rmem_max, as root; plain SO_RCVBUF otherwise).
    try:
        sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 16 << 20)
    except PermissionError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    sock.bind((host, port))
    sock.settimeout(0.1)
    streams = {}  # "source/stream" -> {"seqs": set, "duplicates": n, "max": n}
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    last_progress = 0.0
    while not stopping:
        try:
            data, source = sock.recvfrom(65535)
        except socket.timeout:
            data = None
        except InterruptedError:
            continue
        if data is not None and len(data) >= HEADER.size:
            seq, stream = HEADER.unpack_from(data)
            entry = streams.setdefault("%s:%d/%d" % (source[0], source[1], stream),
                                       {"seqs": set(), "duplicates": 0, "max": -1})
            if seq in entry["seqs"]:
                entry["duplicates"] += 1
            entry["seqs"].add(seq)
            entry["max"] = max(entry["max"], seq)
        now = time.monotonic()
        if now - last_progress >= 0.1:
            write_atomically(args.progress, {k: v["max"] for k, v in streams.items()})
            last_progress = now
    write_atomically(args.report, {
        key: {"received": len(v["seqs"]), "duplicates": v["duplicates"],
              "seqs": ranges(v["seqs"])}
        for key, v in streams.items()})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sender = commands.add_parser("send")
    sender.add_argument("--source", required=True)
    sender.add_argument("--to", required=True)
    sender.add_argument("--rate", type=float, default=2000.0)
    sender.add_argument("--seconds", type=float, required=True)
    sender.add_argument("--stream", type=int, default=0)
    sender.add_argument("--size", type=int, default=64)
    receiver = commands.add_parser("receive")
    receiver.add_argument("--bind", required=True)
    receiver.add_argument("--progress", required=True)
    receiver.add_argument("--report", required=True)
    args = parser.parse_args()
    send(args) if args.command == "send" else receive(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
