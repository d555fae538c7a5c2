#!/usr/bin/env python3
"""Verify an engagement's audit trail without kpi-ledger or its database.

    kpi-ledger audit export --engagement ID --out FOLDER
    python3 scripts/verify_audit.py FOLDER [--public-key HEX]

FOLDER holds `events.jsonl` (one event per line: its stored bytes and its link) and, once
a checkpoint covers the engagement, `proof.json`. The script recomputes every link of the
hash chain from the stored bytes, checks that the chain reaches the head the checkpoint
signed, folds the inclusion proof to the signed root and checks the Ed25519 signature
(optionally against a public key the auditor pinned). It needs only the Python standard
library; the encoding is documented in docs/AUDIT.md. Exit status 0: verified.
"""

import hashlib
import json
import os
import sys

GENESIS = "0" * 64


def link_hash(previous, event):
    h = hashlib.sha256()
    h.update(b"kpi-ledger/chain/v1\n")
    for field in (
        previous,
        str(event["position"]),
        event["aggregate_type"],
        event["aggregate_id"],
        str(event["sequence"]),
        event["event_type"],
        event["event_version"],
        event["recorded_at"],
    ):
        h.update(field.encode() + b"\n")
    for blob in (event["payload"], event["metadata"]):
        data = blob.encode()
        h.update(str(len(data)).encode() + b":" + data + b"\n")
    return h.hexdigest()


def leaf(head):
    text = "kpi-ledger/leaf/v1\n%s\n%d\n%s" % (head["chain"], head["position"], head["hash"])
    return hashlib.sha256(text.encode()).hexdigest()


def node(left, right):
    return hashlib.sha256(("kpi-ledger/node/v1\n%s\n%s" % (left, right)).encode()).hexdigest()


# Ed25519 verification, after RFC 8032 section 6.
P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    x = (a[1] - a[0]) * (b[1] - b[0]) % P
    y = (a[1] + a[0]) * (b[1] + b[0]) % P
    c = 2 * a[3] * b[3] * D % P
    d = 2 * a[2] * b[2] % P
    e, f, g, h = y - x, d - c, d + c, y + x
    return (e * f, g * h, f * g, e * h)


def _mul(s, point):
    result = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            result = _add(result, point)
        point = _add(point, point)
        s >>= 1
    return result


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _decompress(data):
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0)
BASE = (_GX, _GY, 1, _GX * _GY % P)


def ed25519_verify(public, message, signature):
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _decompress(public)
    r = _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= Q:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % Q
    return _equal(_mul(s, BASE), _add(r, _mul(k, a)))


def fail(message):
    print("NOT VERIFIED: " + message)
    sys.exit(1)


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        sys.exit(2)
    folder = argv[1]
    pinned = argv[argv.index("--public-key") + 1].lower() if "--public-key" in argv else None

    previous, previous_position, count = GENESIS, None, 0
    hashes = {}
    with open(os.path.join(folder, "events.jsonl"), encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            event = json.loads(line)
            position = event["position"]
            if event["previous_position"] != previous_position:
                fail("the link at position %d follows %s, but the chain before it ends at %s: an event was removed or moved"
                     % (position, event["previous_position"], previous_position))
            expected = link_hash(previous, event)
            if expected != event["hash"]:
                fail("the event at position %d was altered: its bytes hash to %s, the chain holds %s"
                     % (position, expected, event["hash"]))
            previous, previous_position = event["hash"], position
            hashes[position] = event["hash"]
            count += 1
    print("chain: %d events, every link recomputed" % count)

    proof_path = os.path.join(folder, "proof.json")
    if not os.path.exists(proof_path):
        print("no checkpoint proof in %s: the chain is consistent, but nothing signed vouches for its end" % folder)
        return
    with open(proof_path, encoding="utf-8") as f:
        proof = json.load(f)
    head = proof["head"]
    if hashes.get(head["position"]) != head["hash"]:
        fail("checkpoint %s saw this chain reach position %d; the events end at %s: newer events were deleted or rewritten"
             % (proof["checkpoint_id"], head["position"], previous_position))
    root = leaf(head)
    for step in proof["path"]:
        root = node(step["hash"], root) if step["side"] == "left" else node(root, step["hash"])
    if root != proof["root"]:
        fail("the inclusion proof does not lead to the checkpoint's root")
    if pinned is not None and pinned != proof["public_key"].lower():
        fail("the checkpoint is signed with key %s, not the pinned %s" % (proof["public_key"], pinned))
    message = ("kpi-ledger/checkpoint/v1\n%s\n%s\n%d" % (proof["root"], proof["created_at"], proof["log_position"])).encode()
    if not ed25519_verify(bytes.fromhex(proof["public_key"]), message, bytes.fromhex(proof["signature"])):
        fail("the checkpoint's signature does not verify")
    print("checkpoint %s of %s: signature valid, head at position %d included"
          % (proof["checkpoint_id"], proof["created_at"], head["position"]))
    print("VERIFIED")


if __name__ == "__main__":
    main(sys.argv)
