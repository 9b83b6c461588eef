-- One row per account name: the faucet's memory of every registration it started.
-- Portable SQL (SQLite and PostgreSQL run the same statements); times are Unix seconds.
CREATE TABLE registrations (
    name               TEXT PRIMARY KEY,  -- the account name; one registration per name
    status             TEXT NOT NULL,     -- pending | broadcast | confirmed | failed
    claim              TEXT NOT NULL,     -- the attempt that owns the row; every change compares it
    owner_key          TEXT NOT NULL,
    active_key         TEXT NOT NULL,
    memo_key           TEXT NOT NULL,
    ip                 TEXT NOT NULL,     -- client address (an IPv6 /64 as its network)
    requested_referrer TEXT,              -- what the client asked for, as sent
    referrer_id        TEXT,              -- the referrer used, 1.2.N
    referrer_name      TEXT,
    fee                BIGINT,            -- satoshis of the core asset
    tx_id              TEXT,
    tx_json            TEXT,              -- the signed transaction, as broadcast
    tx_expiration      BIGINT,
    account_id         TEXT,              -- 1.2.N once confirmed
    block_num          BIGINT,
    error              TEXT,              -- why it failed
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    created_day        TEXT NOT NULL      -- YYYY-MM-DD (UTC) of created_at, for per-day figures
);
CREATE INDEX registrations_ip_created ON registrations (ip, created_at);
CREATE INDEX registrations_created ON registrations (created_at);
CREATE INDEX registrations_status ON registrations (status);
