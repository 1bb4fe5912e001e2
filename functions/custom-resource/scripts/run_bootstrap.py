#!/usr/bin/env python3
"""Runs a built Lambda `bootstrap` once, the way Lambda would, and prints what it answered.

A minimal Lambda Runtime API and a ResponseURL recorder on one loopback port serve the binary one
custom-resource event (default: a Create; or EVENT.json, whose ResponseURL is replaced) and
collect the runtime result (/response or /error) and the PUTs to the ResponseURL. An aarch64
binary on an x86_64 host runs under qemu-user (`apt-get install qemu-user libc6-arm64-cross`).

    run_bootstrap.py BOOTSTRAP [EVENT.json] [--expect-panic]

--expect-panic: exit 0 only if the process survived the panic and answered CloudFormation
exactly once, FAILED, "the handler panicked" (what panic = "unwind" guarantees; with
panic = "abort" the process dies and nothing is answered).
"""

import json
import os
import platform
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = [a for a in sys.argv[1:] if not a.startswith("--")]
expect_panic = "--expect-panic" in sys.argv
if not args:
    sys.exit(__doc__)
binary = os.path.abspath(args[0])
event = json.load(open(args[1])) if len(args) > 1 else {
    "RequestType": "Create",
    "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/probe/guid",
    "RequestId": "probe-request",
    "LogicalResourceId": "Probe",
    "ResourceType": "Custom::Probe",
    "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:probe"},
}
answers, results = [], []
first_next = []  # time.monotonic() of the first GET .../invocation/next (the end of init)
answered = []  # time.monotonic() of the runtime result
served = threading.Event()
done = threading.Event()


class Api(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next"):
            if not first_next:
                first_next.append(time.monotonic())
            if served.is_set():
                time.sleep(120)  # like Lambda: no next event (the process is killed first)
                return self.reply(500)
            served.set()
            deadline = int((time.time() + 30) * 1000)
            return self.reply(200, json.dumps(event).encode(), [
                ("Content-Type", "application/json"),
                ("Lambda-Runtime-Aws-Request-Id", "invocation-1"),
                ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:probe"),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
            ])
        self.reply(404)

    def do_POST(self):
        kind = self.path.rsplit("/", 1)[-1]
        results.append((kind, self.body().decode(errors="replace")))
        answered.append(time.monotonic())
        self.reply(202)
        done.set()

    def do_PUT(self):
        answers.append({"content_type": self.headers.get("Content-Type"), "body": json.loads(self.body())})
        self.reply(200)


server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
port = server.server_address[1]
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
event["ResponseURL"] = f"http://127.0.0.1:{port}/cfn-response?X-Amz-Signature=probe"

command = [binary]
with open(binary, "rb") as f:
    machine = f.read(20)[18:20]
if machine == b"\xb7\x00" and platform.machine() != "aarch64":
    command = ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", binary]
env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}", AWS_LAMBDA_FUNCTION_NAME="probe",
           AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
           AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/probe", AWS_LAMBDA_LOG_STREAM_NAME="probe",
           AWS_REGION=os.environ.get("AWS_REGION", "us-east-1"))
started = time.time()
spawned = time.monotonic()
process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
done.wait(60)
time.sleep(0.5)
alive = process.poll() is None
process.kill()
logs = process.communicate()[0].decode(errors="replace")

print(f"runtime result after {time.time() - started:.2f} s: {results or 'none'}")
# Cold start as Lambda bills it: spawn to the first `next` (init), and to the runtime result.
init_ms = f"{(first_next[0] - spawned) * 1000:.0f} ms" if first_next else "never"
total_ms = f"{(answered[0] - spawned) * 1000:.0f} ms" if answered else "never"
print(f"cold start: init {init_ms}, spawn to result {total_ms}")
print(f"process alive after answering: {alive} (exit {process.returncode})")
print(f"ResponseURL PUTs: {len(answers)}")
for a in answers:
    print(json.dumps(a, indent=2))
print("--- function log ---\n" + logs.strip())
if expect_panic:
    ok = (len(answers) == 1 and answers[0]["body"]["Status"] == "FAILED"
          and "the handler panicked" in answers[0]["body"].get("Reason", "")
          and answers[0]["content_type"] == "" and results and results[0][0] == "response" and alive)
    print("PANIC CHECK:", "PASS (the artifact unwinds and answers)" if ok else "FAIL")
    sys.exit(0 if ok else 1)
