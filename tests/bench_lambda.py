#!/usr/bin/env python3
"""Cold start and handler time of a Lambda `bootstrap`, against a local Runtime API.

Starts a stand-in for the Lambda Runtime API on 127.0.0.1, launches the bootstrap with
AWS_LAMBDA_RUNTIME_API pointing at it, and measures
  - cold start: from spawning the process to its first `GET /invocation/next`;
  - handler time: from handing out an event to receiving its response (or error),
for N invocations of the given event. Prints one line of JSON per bootstrap.

Usage: bench_lambda.py NAME BOOTSTRAP EVENT_JSON N [KEY=VALUE ...]   (extra environment)
"""
import http.server
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import threading
import time

API = "/2018-06-01/runtime"


class Runtime(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, events):
        super().__init__(("127.0.0.1", 0), Handler)
        self.events = events  # queue of (request id, body) or None to stop
        self.first_poll = None
        self.sent = {}
        self.done = queue.Queue()  # (request id, seconds, status)

    def handle_error(self, request, client_address):
        pass  # the killed bootstrap resets its connection


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real Runtime API

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every kept-alive exchange.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path != f"{API}/invocation/next":
            self.send_error(404)
            return
        if self.server.first_poll is None:
            self.server.first_poll = time.perf_counter()
        item = self.server.events.get()
        if item is None:
            # No more work: hold the poll until the process is killed.
            time.sleep(3600)
            return
        request_id, body = item
        payload = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 600_000))
        self.send_header(
            "Lambda-Runtime-Invoked-Function-Arn",
            "arn:aws:lambda:us-east-1:123456789012:function:bench",
        )
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()
        self.server.sent[request_id] = time.perf_counter()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        parts = self.path.split("/")
        # /2018-06-01/runtime/invocation/<id>/response | /error, or /runtime/init/error
        if len(parts) >= 6 and parts[3] == "invocation":
            request_id, kind = parts[4], parts[5]
            elapsed = time.perf_counter() - self.server.sent[request_id]
            self.server.done.put((request_id, elapsed, kind))
        else:
            self.server.done.put(("init", 0.0, "init-error"))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    name, bootstrap, event_path, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    extra = dict(kv.split("=", 1) for kv in sys.argv[5:])
    event = open(event_path).read()
    events = queue.Queue()
    for i in range(n):
        events.put((f"req-{i}", event))
    events.put(None)
    server = Runtime(events)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_REGION": "us-east-1",
        **extra,
    }
    started = time.perf_counter()
    proc = subprocess.Popen([bootstrap], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = []
    try:
        for _ in range(n):
            request_id, seconds, kind = server.done.get(timeout=120)
            if kind != "response":
                raise SystemExit(f"{name}: invocation {request_id} ended with {kind}")
            results.append(seconds * 1000)
    finally:
        proc.kill()
        proc.wait()
        server.shutdown()
    cold = (server.first_poll - started) * 1000
    first = results[0]
    results.sort()
    print(json.dumps({
        "function": name,
        "cold_start_to_first_poll_ms": round(cold, 2),
        "invocations": n,
        "handler_ms_median": round(statistics.median(results), 3),
        "handler_ms_p90": round(results[int(0.9 * (n - 1))], 3),
        "first_handler_ms": round(first, 3),
    }))


if __name__ == "__main__":
    main()
