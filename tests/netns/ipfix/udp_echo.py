"""UDP echo server for the IPFIX netns test: returns every datagram to its sender.
usage: udp_echo.py BIND_ADDRESS PORT"""
import socket
import sys

address, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in address else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind((address, port))
print("listening", flush=True)
while True:
    data, peer = sock.recvfrom(65535)
    sock.sendto(data, peer)
