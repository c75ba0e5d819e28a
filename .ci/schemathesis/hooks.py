"""Schemathesis hooks: sign every request to a signed route as a device would.

The signing scheme is lgt_protocol::signing_message (protocol/src/lib.rs) as server/src/auth.rs
checks it: the hex Ed25519 signature over the lines 'lgt-sync-v1', method, path, timestamp,
nonce and the hex SHA-256 of the body, joined by newlines. The device was enrolled by
run.sh, which hands its id and private key over in LGT_ST_DEVICE and LGT_ST_KEY (hex seed).

The signature is made in a `requests` auth callable, so it covers the body bytes exactly as
they are sent. The x-lgt-* headers are the document's parameters, so Schemathesis generates
them too: a header it left out stays out, and a value it made to break the document's
constraints is sent as it is (the server must refuse both); a valid one is replaced by the
device's own (id, current time, a fresh nonce, the signature), or it could not be accepted.
"""

import hashlib
import os
import re
import time
import uuid

import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DEVICE = os.environ["LGT_ST_DEVICE"]
KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(os.environ["LGT_ST_KEY"]))
SIGNED = {"/v1/push", "/v1/pull", "/v1/numbers", "/v1/device/key", "/v1/audit/anchor", "/v1/audit/records"}


def sign(request):
    path = request.path_url.split("?", 1)[0]
    if path not in SIGNED:
        return request
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    headers = request.headers
    valid = {
        "x-lgt-device": lambda v: len(v) >= 1,
        "x-lgt-timestamp": lambda v: re.fullmatch(r"-?[0-9]{1,19}", v) is not None,
        "x-lgt-nonce": lambda v: 1 <= len(v) <= 64,
        "x-lgt-signature": lambda v: re.fullmatch(r"[0-9a-fA-F]{128}", v) is not None,
    }
    own = {name: name in headers and valid[name](headers[name]) for name in valid}
    if own["x-lgt-device"]:
        headers["x-lgt-device"] = DEVICE
    if own["x-lgt-timestamp"]:
        headers["x-lgt-timestamp"] = str(int(time.time()))
    if own["x-lgt-nonce"]:
        headers["x-lgt-nonce"] = uuid.uuid4().hex
    if own["x-lgt-signature"]:
        message = "\n".join(
            [
                "lgt-sync-v1",
                request.method,
                path,
                headers.get("x-lgt-timestamp", ""),
                headers.get("x-lgt-nonce", ""),
                hashlib.sha256(body).hexdigest(),
            ]
        )
        headers["x-lgt-signature"] = KEY.sign(message.encode()).hex()
    return request


@schemathesis.hook
def before_call(ctx, case, kwargs):
    kwargs["auth"] = sign

