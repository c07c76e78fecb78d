"""The collector's UDP socket: takes the IPFIX messages (tshark decodes the capture), so the
collector host sends no port-unreachable back to the exporter.
usage: udp_sink.py BIND_ADDRESS PORT"""
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((sys.argv[1], int(sys.argv[2])))
while True:
    sock.recvfrom(65535)
