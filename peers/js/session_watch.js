// Holds one bitsharesjs-ws session (the reference wallet's library) open for a while and watches
// it: block-applied notices counted, the longest gap between two, whether the connection was
// ever closed, and the block numbers seen (first, last, how many were missed or repeated). The
// fleet's upgrade test and the gateway's failover test run it through a gateway while the nodes
// are replaced or frozen.
// Usage: node session_watch.js WS_URL CHAIN_ID PREFIX STOP_FILE   (runs until STOP_FILE exists)
// Prints one JSON line; exits 1 if the session closed or saw no block.
"use strict";
const { Apis, ChainConfig } = require("bitsharesjs-ws");

const fs = require("node:fs");
const [url, chainId, prefix, stopFile] = process.argv.slice(2);
ChainConfig.networks.BtsInfraDevnet = { core_asset: prefix, address_prefix: prefix, chain_id: chainId };

let closed = false;
const blocks = [];
const numbers = [];

async function main() {
  // The fifth argument is called when the connection closes.
  const instance = Apis.instance(url, true, 10000, undefined, () => {
    closed = true;
  });
  await instance.init_promise;
  await instance.db_api().exec("set_block_applied_callback", [
    (...args) => {
      blocks.push(Date.now());
      // The block id, however the library hands over the notice's arguments; its first four
      // bytes are the block number.
      const id = args.flat(3).find((x) => typeof x === "string");
      if (id) numbers.push(parseInt(id.slice(0, 8), 16));
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
  let missed = 0;
  let repeated = 0;
  for (let i = 1; i < numbers.length; i++) {
    if (numbers[i] <= numbers[i - 1]) repeated++;
    else missed += numbers[i] - numbers[i - 1] - 1;
  }
  const report = {
    blocks: blocks.length,
    longest_gap_ms: gap,
    closed,
    first: numbers[0] ?? null,
    last: numbers[numbers.length - 1] ?? null,
    missed,
    repeated,
  };
  console.log(JSON.stringify(report));
  await Apis.close().catch(() => {});
  process.exit(report.closed || report.blocks === 0 ? 1 : 0);
}

main().catch((e) => {
  console.error(String((e && e.stack) || e));
  process.exit(1);
});
