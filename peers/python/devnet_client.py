"""A real python-bitshares client against a node: reads chain state, registers an account with
the registrar's key, and sends it a transfer, waiting for each to be included.

Usage: devnet_client.py WS_URL CHAIN_ID PREFIX REGISTRAR REGISTRAR_WIF NEW_NAME
Prints one JSON line with what it saw; exits non-zero on any failure.
"""

import json
import sys

from bitshares import BitShares
from bitshares.account import Account
from bitshares.blockchain import Blockchain
from bitsharesbase.account import PasswordKey
from bitsharesbase.chains import known_chains


def main():
    url, chain_id, prefix, registrar, wif, name = sys.argv[1:7]
    # Custom chains are announced to the library this way.
    known_chains["BTSINFRADEVNET"] = {"chain_id": chain_id, "core_symbol": prefix, "prefix": prefix}
    bts = BitShares(node=url, keys=[wif], nobroadcast=False, blocking="head", num_retries=0)
    chain = Blockchain(blockchain_instance=bts)
    info = chain.info()
    reg = Account(registrar, blockchain_instance=bts)
    keys = {
        role: format(PasswordKey(name, "devnet-password", role, prefix=prefix).get_public_key(), prefix)
        for role in ("owner", "active", "memo")
    }
    created = bts.create_account(
        name,
        registrar=registrar,
        referrer=registrar,
        referrer_percent=70,
        owner_key=keys["owner"],
        active_key=keys["active"],
        memo_key=keys["memo"],
        additional_owner_keys=[],
        additional_active_keys=[],
    )
    new = Account(name, blockchain_instance=bts, full=False, lazy=False)
    new.refresh()
    sent = bts.transfer(name, 12.5, prefix, memo="", account=registrar)
    balance = Account(name, blockchain_instance=bts).balance(prefix)
    print(
        json.dumps(
            {
                "head_block_number": info["head_block_number"],
                "last_irreversible_block_num": info["last_irreversible_block_num"],
                "registrar_id": reg["id"],
                "registrar_is_ltm": reg.is_ltm,
                "created_block": created.get("block_num"),
                "account_id": new["id"],
                "account_referrer": new["referrer"],
                "referrer_rewards_percentage": new["referrer_rewards_percentage"],
                "owner_key": new["owner"]["key_auths"][0][0],
                "expected_owner_key": keys["owner"],
                "memo_key": new["options"]["memo_key"],
                "expected_memo_key": keys["memo"],
                "transfer_block": sent.get("block_num"),
                "balance": float(balance),
            }
        )
    )


if __name__ == "__main__":
    main()
