"""One UDP flow of a known shape for the IPFIX netns test: COUNT datagrams of PAYLOAD bytes
from SOURCE_PORT to DESTINATION:PORT, one every INTERVAL seconds, each echo awaited (1 s).
Prints the number of echoes received.
usage: udp_flow.py SOURCE_PORT DESTINATION PORT COUNT PAYLOAD INTERVAL"""
import socket
import sys
import time

source_port, destination, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
count, payload, interval = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
family = socket.AF_INET6 if ":" in destination else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", source_port))
sock.settimeout(1.0)
received = 0
for i in range(count):
    sock.sendto(bytes([i % 256]) * payload, (destination, port))
    try:
        sock.recvfrom(65535)
        received += 1
    except socket.timeout:
        pass
    time.sleep(interval)
print(received)
