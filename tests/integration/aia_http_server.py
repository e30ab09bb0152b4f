"""An HTTP server for the AIA and revocation tests: Python's http.server serving a directory,
plus the misbehaviours a caIssuers URL can show. Counts requests per path.

Usage: aia_http_server.py PORT DIRECTORY

  /<file>            the file, 200 (404 when absent)
  /hang/<anything>   never answers (holds the connection for 60 s)
  /slow/<ms>/<file>  the file, after <ms> milliseconds
  /redirect          302 to the cloud metadata address, which the fetcher must
                     not follow
  /big               200 with 1 MiB of bytes, over any caIssuers size cap
  /_requests?path=P  how many requests P got so far (not counted itself)
"""
import collections
import http.server
import sys
import threading
import time
import urllib.parse

PORT = int(sys.argv[1])
DIRECTORY = sys.argv[2]

counts = collections.Counter()
counts_lock = threading.Lock()


class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=DIRECTORY, **kwargs)

    def log_message(self, fmt, *args):  # Quiet: the test reads counts instead.
        pass

    def send_body(self, status, body, content_type="application/octet-stream", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_requests":
            wanted = urllib.parse.parse_qs(url.query).get("path", [""])[0]
            with counts_lock:
                n = counts[wanted]
            self.send_body(200, str(n).encode(), "text/plain")
            return
        with counts_lock:
            counts[url.path] += 1
        if url.path.startswith("/hang/"):
            time.sleep(60)
            return
        if url.path.startswith("/slow/"):
            _, _, ms, name = url.path.split("/", 3)
            time.sleep(int(ms) / 1000)
            self.path = "/" + name
        if url.path == "/redirect":
            self.send_body(302, b"", headers=[("Location", "http://169.254.169.254/latest/meta-data/")])
            return
        if url.path == "/big":
            self.send_body(200, b"\x30" * (1 << 20))
            return
        super().do_GET()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


Server(("127.0.0.1", PORT), Handler).serve_forever()
