// A real bitsharesjs-ws client (the reference wallet's websocket library) against a node:
// connects, logs in, opens the database/network_broadcast/history APIs, reads the dynamic global
// properties, and waits for block-applied and object-change notices.
// Usage: node devnet_client.js WS_URL CHAIN_ID PREFIX BLOCKS
// Prints one JSON line with what it saw; exits non-zero on any failure.
"use strict";
const { Apis, ChainConfig } = require("bitsharesjs-ws");

const [url, chainId, prefix, wanted] = process.argv.slice(2);
const blocksWanted = Number(wanted || 2);
// Custom chains are announced to the library this way (as wallets for private chains do).
ChainConfig.networks.BtsInfraDevnet = { core_asset: prefix, address_prefix: prefix, chain_id: chainId };

function fail(e) {
  console.error(String((e && e.stack) || JSON.stringify(e)));
  process.exit(1);
}

async function main() {
  const timer = setTimeout(() => fail(new Error("timed out")), 60000);
  const instance = Apis.instance(url, true);
  await instance.init_promise;
  const db = instance.db_api();
  const dgp = await db.exec("get_dynamic_global_properties", []);
  const props = await db.exec("get_chain_properties", []);
  const blockIds = [];
  const objectNotices = [];
  await db.exec("set_subscribe_callback", [(objs) => objectNotices.push(objs), false]);
  await db.exec("get_objects", [["2.1.0"]]);
  await new Promise((resolve, reject) => {
    db.exec("set_block_applied_callback", [
      (ids) => {
        blockIds.push(ids[0]);
        if (blockIds.length >= blocksWanted) resolve();
      },
    ]).catch(reject);
  });
  const history = await instance.history_api().exec("get_account_history", ["1.2.0", "1.11.0", 10, "1.11.0"]);
  console.log(
    JSON.stringify({
      chain_id: instance.chain_id,
      chain_properties_id: props.chain_id,
      head_block_number: dgp.head_block_number,
      last_irreversible_block_num: dgp.last_irreversible_block_num,
      block_ids: blockIds,
      object_notices: objectNotices.length,
      // A notice carries [[object, ...]], as the node sends it.
      first_notice_ids: ((objectNotices[0] || [])[0] || []).map((o) => o.id),
      history_entries: history.length,
    })
  );
  clearTimeout(timer);
  await Apis.close();
  process.exit(0);
}

main().catch(fail);
