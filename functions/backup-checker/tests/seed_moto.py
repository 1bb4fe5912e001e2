"""A moto server (the AWS emulator, same as tests' `Moto::start()`) whose S3 bucket is filled
in-process: putting 100,000 objects over HTTP takes minutes, writing them into moto's backend
takes seconds. Everything else (the listing under test included) goes over HTTP as usual.

usage: seed_moto.py PORT
stdin: a bucket name (already created over HTTP), then one key per line, then an empty line.
stdout: "SEEDED <n>" once done; the server runs until stdin closes.
"""
import sys

from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
bucket = sys.stdin.readline().strip()
backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
n = 0
for line in sys.stdin:
    key = line.rstrip("\n")
    if not key:
        break
    backend.put_object(bucket, key, b"")
    n += 1
print(f"SEEDED {n}", flush=True)
sys.stdin.read()
server.stop()
