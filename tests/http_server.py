"""A local HTTP server on 127.0.0.1 for the download tests: serves files from a dict, honours ``Range``,
counts requests, and can misbehave on purpose (cut a response short, fail with 500 first).

    with FileServer({"/w.pth": data}) as server:
        url = server.url("/w.pth")
        ...
        server.requests            # the paths asked for, in order
        server.cut_next["/w.pth"] = 1000   # the next answer for it stops after 1000 bytes
        server.fail_next["/w.pth"] = 2     # the next 2 answers for it are HTTP 500
"""

from __future__ import annotations

import http.server
import io
import tarfile
import threading


def tar_gz(members: dict[str, bytes]) -> bytes:
    """A .tar.gz archive in memory holding ``members`` (name -> bytes), for a server to hand out."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class FileServer:
    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.requests: list[str] = []
        self.ranges: list[str | None] = []
        self.cut_next: dict[str, int] = {}
        self.fail_next: dict[str, int] = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                server.requests.append(self.path)
                server.ranges.append(self.headers.get("Range"))
                if server.fail_next.get(self.path, 0) > 0:
                    server.fail_next[self.path] -= 1
                    self.send_error(500, "Internal Server Error")
                    return
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404, "Not Found")
                    return
                start, status = 0, 200
                wanted = self.headers.get("Range")
                if wanted and wanted.startswith("bytes="):
                    start = int(wanted[6:].split("-")[0])
                    if start >= len(data):
                        self.send_error(416, "Requested Range Not Satisfiable")
                        return
                    status = 206
                body = data[start:]
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                cut = server.cut_next.pop(self.path, None)
                self.wfile.write(body if cut is None else body[:cut])
                if cut is not None:
                    self.wfile.flush()
                    self.close_connection = True

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def reset(self, files: dict[str, bytes]) -> FileServer:
        """Serves only ``files`` from now on, with the request logs and planned misbehaviour cleared."""
        self.files.clear()
        self.files.update(files)
        for log in (self.requests, self.ranges, self.cut_next, self.fail_next):
            log.clear()
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
