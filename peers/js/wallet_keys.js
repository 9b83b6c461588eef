// The reference wallet's password login keys, made by the real bitsharesjs (the library
// bitshares-ui uses): bitshares-ui's WalletDb.generateKeyFromPassword(account, role, password) is
// PrivateKey.fromSeed(account + role + password), for the roles owner, active and memo.
// bitsharesjs' own AccountLogin.generateKeys (which normalises the seed first) is printed too.
// Usage: node wallet_keys.js ACCOUNT PASSWORD PREFIX
// Prints one JSON line {"owner","active","memo","account_login":{...}}; exits non-zero on failure.
"use strict";
const { PrivateKey, Login } = require("bitsharesjs");

const [account, password, prefix] = process.argv.slice(2);
if (!account || !password || !prefix) {
  console.error("usage: node wallet_keys.js ACCOUNT PASSWORD PREFIX");
  process.exit(2);
}

// bitshares-ui app/stores/WalletDb.js generateKeyFromPassword.
function generateKeyFromPassword(accountName, role, pass) {
  const seed = accountName + role + pass;
  const privKey = PrivateKey.fromSeed(seed);
  return privKey.toPublicKey().toString(prefix);
}

const keys = {};
for (const role of ["owner", "active", "memo"]) {
  keys[role] = generateKeyFromPassword(account, role, password);
}
// bitsharesjs' login helper, for comparison (it requires 12+ character passwords).
let accountLogin = null;
if (password.length >= 12) {
  accountLogin = Login.generateKeys(account, password, ["owner", "active", "memo"], prefix).pubKeys;
}
console.log(JSON.stringify({ ...keys, account_login: accountLogin }));
