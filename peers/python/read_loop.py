"""python-bitshares reading through one WebSocket session without pause, as a wallet's backend
does, until a stop file exists: the fleet's tests run it through a gateway while nodes are
replaced behind it.

Usage: read_loop.py WS_URL CHAIN_ID PREFIX STOP_FILE
Prints one JSON line: reads that succeeded, reads that failed (with the first error), and how
often the session had to be opened again. Exits 1 if any read failed or none succeeded.
"""

import json
import os
import sys
import time

from bitshares import BitShares
from bitshares.account import Account
from bitshares.blockchain import Blockchain
from bitsharesbase.chains import known_chains


def connect(url):
    bts = BitShares(node=url, num_retries=0)
    return bts, Blockchain(blockchain_instance=bts)


def main():
    url, chain_id, prefix, stop_file = sys.argv[1:5]
    known_chains["BTSINFRADEVNET"] = {"chain_id": chain_id, "core_symbol": prefix, "prefix": prefix}
    bts, chain = connect(url)
    ok = failed = reconnects = 0
    first_error = None
    while not os.path.exists(stop_file):
        try:
            info = chain.info()
            Account("faucet", blockchain_instance=bts, full=False, lazy=False).refresh()
            if info["head_block_number"] > 0:
                ok += 1
        except Exception as e:  # noqa: BLE001 (any failure is what is counted)
            failed += 1
            first_error = first_error or f"{type(e).__name__}: {e}"
            time.sleep(0.2)
            bts, chain = connect(url)
            reconnects += 1
        time.sleep(0.05)
    print(json.dumps({"ok": ok, "failed": failed, "reconnects": reconnects, "first_error": first_error}))
    sys.exit(0 if ok > 0 and failed == 0 else 1)


if __name__ == "__main__":
    main()
