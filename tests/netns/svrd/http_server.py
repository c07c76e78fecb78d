"""A minimal HTTP server for the svrd netns tests: python3 http_server.py ADDRESS PORT.

Like `python3 -m http.server`, but without its reverse DNS lookup of the bound address at
start-up (HTTPServer.server_bind calls getfqdn), which waits for DNS timeouts in a namespace
whose default route leads to a router that drops the query. Logs one line per request with
the client address, as http.server does. "::" listens on IPv4 and IPv6.
"""
import http.server
import socket
import socketserver
import sys


class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        socketserver.TCPServer.server_bind(self)
        self.server_name = "svr-test"
        self.server_port = self.server_address[1]


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        host = self.client_address[0].removeprefix("::ffff:")
        sys.stderr.write("%s %s\n" % (host, format % args))
        sys.stderr.flush()


Server((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
