"""Conformance peers of the Cloud Hypervisor and Firecracker REST APIs, for
the API-level tests of vmrd-host's drivers (not the real VMMs, which cannot
run here: no /dev/kvm).  They follow the published API descriptions (Cloud
Hypervisor's vmm/src/api/openapi/cloud-hypervisor.yaml, Firecracker's
swagger firecracker.yaml): paths, methods, bodies, status codes and error
bodies, and the quirk the issue names (Cloud Hypervisor answers a resize to
the size it holds with HTTP 500).  Faults are injected by setting `fault`:
"500" (the next request fails with an error body), "badjson" (the next
answer is not JSON), "slow" (the next answer comes after `slow_sec`)."""

import json
import os
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler

MIB = 1 << 20


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = True


class Peer:
    """A VMM API on a unix socket; subclasses answer (method, path, body)."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.requests = []          # (method, path, body dict or None, status)
        self.fault = None
        self.slow_sec = 7
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                status, body = peer.handle(self.command, self.path, raw)
                data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_PATCH = do_POST = _any

        if os.path.exists(path):
            os.unlink(path)
        self.server = _Server(path, Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, method, path, raw):
        with self.lock:
            fault, self.fault = self.fault, None
        if fault == "slow":
            time.sleep(self.slow_sec)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
            status, out = 400, self.error("body is not JSON")
        else:
            status, out = self.answer(method, path, body) if fault != "500" else (
                500, self.error("injected failure: boom"))
        if fault == "badjson" and status == 200:
            out = b'{"config": {"memory": '
        with self.lock:
            self.requests.append((method, path, body, status))
        return status, out

    def resizes(self):
        with self.lock:
            return [(p, b, s) for m, p, b, s in self.requests if m in ("PUT", "PATCH")]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        if os.path.exists(self.path):
            os.unlink(self.path)


class CloudHypervisor(Peer):
    """GET /api/v1/vm.info, PUT /api/v1/vm.resize (desired_ram, desired_balloon)."""

    def __init__(self, path, boot=512 * MIB, hotplug=1536 * MIB, balloon=False):
        self.boot, self.hotplug, self.hotplugged = boot, hotplug, 0
        self.balloon = 0 if balloon else None
        self.unchanged = 0          # resizes to the size already held (answered 500)
        super().__init__(path)

    @staticmethod
    def error(text):
        # Cloud Hypervisor's errors are plain text in the body, not JSON.
        return text.encode()

    def info(self):
        mem = {"size": self.boot, "hotplug_size": self.hotplug, "hotplugged_size": self.hotplugged,
               "hotplug_method": "VirtioMem", "shared": False, "mergeable": False}
        cfg = {"cpus": {"boot_vcpus": 1, "max_vcpus": 1}, "memory": mem}
        if self.balloon is not None:
            cfg["balloon"] = {"size": self.balloon, "deflate_on_oom": False}
        actual = self.boot - (self.balloon or 0) + self.hotplugged
        return {"config": cfg, "state": "Running", "memory_actual_size": actual}

    def answer(self, method, path, body):
        if path == "/api/v1/vm.info" and method == "GET":
            return 200, self.info()
        if path != "/api/v1/vm.resize" or method != "PUT":
            return 404, self.error("no such endpoint")
        if not isinstance(body, dict):
            return 400, self.error("bad request")
        if "desired_ram" in body:
            want = body["desired_ram"] - self.boot
            if want == self.hotplugged:
                self.unchanged += 1
                return 500, self.error("Error resizing VM: memory unchanged")
            if want < 0 or want > self.hotplug or want % (2 * MIB):
                return 500, self.error("Error resizing VM: invalid size")
            self.hotplugged = want
        if "desired_balloon" in body:
            if self.balloon is None or body["desired_balloon"] > self.boot:
                return 500, self.error("Error resizing VM: no balloon")
            self.balloon = body["desired_balloon"]
        return 204, None


class Firecracker(Peer):
    """/machine-config, /hotplug/memory (GET, PATCH), /balloon (GET, PATCH); MiB."""

    def __init__(self, path, boot_mib=512, total_mib=1536, block_mib=2, balloon=False):
        self.boot_mib, self.total_mib, self.block_mib = boot_mib, total_mib, block_mib
        self.requested_mib = self.plugged_mib = 0
        self.amount_mib = 0 if balloon else None
        super().__init__(path)

    @staticmethod
    def error(text):
        return {"fault_message": text}

    def answer(self, method, path, body):
        if path == "/machine-config" and method == "GET":
            return 200, {"vcpu_count": 1, "mem_size_mib": self.boot_mib, "smt": False}
        if path == "/hotplug/memory":
            if method == "GET":
                return 200, {"total_size_mib": self.total_mib, "slot_size_mib": 128,
                             "block_size_mib": self.block_mib, "plugged_size_mib": self.plugged_mib,
                             "requested_size_mib": self.requested_mib}
            if method == "PATCH":
                n = body.get("requested_size_mib") if isinstance(body, dict) else None
                if not isinstance(n, int) or n < 0 or n > self.total_mib or n % self.block_mib:
                    return 400, self.error("Invalid requested size")
                # The guest plugs what was asked (a real guest takes a while).
                self.requested_mib = self.plugged_mib = n
                return 204, None
        if path == "/balloon":
            if self.amount_mib is None:
                return 400, self.error("Balloon device not configured.")
            if method == "GET":
                return 200, {"amount_mib": self.amount_mib, "deflate_on_oom": False}
            if method == "PATCH":
                n = body.get("amount_mib") if isinstance(body, dict) else None
                if not isinstance(n, int) or n < 0 or n > self.boot_mib:
                    return 400, self.error("Invalid amount")
                self.amount_mib = n
                return 204, None
        return 400, self.error("Invalid request method and/or path")
