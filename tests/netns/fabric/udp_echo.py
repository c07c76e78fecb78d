"""UDP echo server for the fabric tests: python3 udp_echo.py PORT ADDRESS...

One socket per address, so each reply leaves from the address the request went to (a socket
bound to the wildcard would answer from the interface's primary address).
"""
import select
import socket
import sys

port = int(sys.argv[1])
sockets = []
for address in sys.argv[2:]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((address, port))
    sockets.append(sock)
while True:
    ready, _, _ = select.select(sockets, [], [])
    for sock in ready:
        data, peer = sock.recvfrom(65535)
        sock.sendto(data, peer)
