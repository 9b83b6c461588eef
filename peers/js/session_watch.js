// Holds one bitsharesjs-ws session (the reference wallet's library) open for a while and watches
// it: block-applied notices counted, the longest gap between two, and whether the connection was
// ever closed. The fleet's upgrade test runs it through a gateway while the nodes are replaced.
// Usage: node session_watch.js WS_URL CHAIN_ID PREFIX STOP_FILE   (runs until STOP_FILE exists)
// Prints one JSON line; exits 1 if the session closed or saw no block.
"use strict";
const { Apis, ChainConfig } = require("bitsharesjs-ws");

const fs = require("node:fs");
const [url, chainId, prefix, stopFile] = process.argv.slice(2);
ChainConfig.networks.BtsInfraDevnet = { core_asset: prefix, address_prefix: prefix, chain_id: chainId };

let closed = false;
const blocks = [];

async function main() {
  // The fifth argument is called when the connection closes.
  const instance = Apis.instance(url, true, 10000, undefined, () => {
    closed = true;
  });
  await instance.init_promise;
  await instance.db_api().exec("set_block_applied_callback", [
    () => {
      blocks.push(Date.now());
    },
  ]);
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      if (fs.existsSync(stopFile)) {
        clearInterval(timer);
        resolve();
      }
    }, 200);
  });
  let gap = 0;
  for (let i = 1; i < blocks.length; i++) gap = Math.max(gap, blocks[i] - blocks[i - 1]);
  // Read before closing: our own close calls the close callback too.
  const report = { blocks: blocks.length, longest_gap_ms: gap, closed };
  console.log(JSON.stringify(report));
  await Apis.close().catch(() => {});
  process.exit(report.closed || report.blocks === 0 ? 1 : 0);
}

main().catch((e) => {
  console.error(String((e && e.stack) || e));
  process.exit(1);
});
