"""Cross-implementation peer: python-bitshares (bitsharesbase/graphenelib) serializes, hashes and
signs the transactions bts-protocol generated, and checks bts-protocol's signatures.

Reads JSON lines on stdin, one case each:
  {"chain_id": hex, "prefix": "BTS", "wifs": [...], "tx": {unsigned tx in node JSON}, "signatures": [hex, ...]}
Writes one JSON line per case:
  {"hex": unsigned serialization, "digest": hex, "txid": hex,
   "signatures": [python's signatures], "recovered": [public keys recovered from the given signatures]}
A case python-bitshares cannot handle is reported as {"error": "..."} so the Rust side names it.
"""

import hashlib
import json
import sys
from binascii import hexlify, unhexlify

from bitsharesbase import operations
from bitsharesbase.account import PublicKey
from bitsharesbase.signedtransactions import Signed_Transaction
from graphenebase.ecdsa import verify_message

OPERATIONS = {
    0: operations.Transfer,
    5: operations.Account_create,
    6: operations.Account_update,
    8: operations.Account_upgrade,
    22: operations.Proposal_create,
    23: operations.Proposal_update,
}


def operation(tag, payload, prefix):
    """python-bitshares' object for one operation in node JSON, proposed operations included."""
    payload = dict(payload, prefix=prefix)
    if payload.get("memo"):
        payload["memo"] = dict(payload["memo"])
    if tag == 22:
        payload["proposed_ops"] = [{"op": operation(*w["op"], prefix)} for w in payload["proposed_ops"]]
    if tag == 23:
        # Proposal_update reads keys with the default prefix only; the bytes carry no prefix.
        for field in ("key_approvals_to_add", "key_approvals_to_remove"):
            payload[field] = [format(PublicKey(k, prefix=prefix), "BTS") for k in payload[field]]
    return OPERATIONS[tag](**payload)


def build(case):
    prefix = case["prefix"]
    ops = [operation(tag, payload, prefix) for tag, payload in case["tx"]["operations"]]
    tx = case["tx"]
    return Signed_Transaction(
        ref_block_num=tx["ref_block_num"],
        ref_block_prefix=tx["ref_block_prefix"],
        expiration=tx["expiration"],
        operations=ops,
    )


def check(case):
    prefix = case["prefix"]
    chain = {"chain_id": case["chain_id"], "core_symbol": prefix, "prefix": prefix}
    tx = build(case)
    unsigned = hexlify(bytes(tx)).decode()
    # bytes(tx) of an unsigned Signed_Transaction ends with the empty signature vector (00).
    assert unsigned.endswith("00")
    unsigned = unsigned[:-2]
    tx.deriveDigest(chain)
    recovered = []
    for sig in case["signatures"]:
        pub = verify_message(tx.message, unhexlify(sig))
        recovered.append(format(PublicKey(hexlify(pub).decode(), prefix=prefix), prefix))
    tx.sign(case["wifs"], chain)
    return {
        "hex": unsigned,
        "digest": hexlify(tx.digest).decode(),
        "txid": tx.id,
        "signatures": [hexlify(bytes(s)).decode() for s in tx.data["signatures"].data],
        "recovered": recovered,
    }


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            out = check(json.loads(line))
        except Exception as e:  # report, so the Rust side can name the case
            out = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
