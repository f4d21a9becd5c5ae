"""A real SMTP server for the tests (aiosmtpd): every message it accepts is parsed with
Python's own email package and written as one JSON file into --dir, so the tests read
headers and decoded parts as a mail client would. With --cert/--key it offers STARTTLS
and requires it.

    python3 tests/smtp/sink.py --dir DIR [--port N] [--cert PEM --key PEM]

Prints "listening PORT" once it accepts connections; --port 0 takes a free port.
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import socket
import ssl
import sys
import time
import uuid

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, folder):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = {}
        for part in message.walk():
            if part.get_content_maintype() == "text":
                parts[part.get_content_type()] = part.get_content()
        record = {
            "envelope_from": envelope.mail_from,
            "envelope_to": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "headers": {k.lower(): str(v) for k, v in message.items()},
            "content_type": message.get_content_type(),
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
        }
        # Named by arrival, so that sorting the names sorts the messages.
        name = os.path.join(self.folder, f"{time.time_ns():020d}-{uuid.uuid4().hex}.json")
        with open(name + ".partial", "w") as f:
            json.dump(record, f)
        os.rename(name + ".partial", name)
        return "250 OK"


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    tls = None
    if args.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.cert, args.key)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sink = Sink(args.dir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="localhost", tls_context=tls, require_starttls=tls is not None),
        sock=sock,
    )
    print(f"listening {sock.getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
