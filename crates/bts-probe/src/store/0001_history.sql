-- The prober's history. Portable SQL (SQLite and PostgreSQL run the same statements); times are
-- Unix seconds; every region's prober writes its own rows, so regions can share one database.
CREATE TABLE probe_samples (            -- one row per check; kept two days
    at       BIGINT NOT NULL,
    region   TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    network  TEXT NOT NULL,
    kind     TEXT NOT NULL,             -- ws | http | faucet | tls
    ok       BIGINT NOT NULL,           -- 1 or 0
    latency_us BIGINT,                  -- when ok
    error    TEXT,                      -- the error kind when not ok
    detail   TEXT                       -- what happened, for people
);
CREATE INDEX probe_samples_at ON probe_samples (at);
CREATE INDEX probe_samples_region_at ON probe_samples (region, at);
CREATE TABLE probe_hours (              -- one row per hour and check; kept 400 days
    hour     BIGINT NOT NULL,           -- start of the hour
    region   TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    network  TEXT NOT NULL,
    kind     TEXT NOT NULL,
    total    BIGINT NOT NULL,
    ok       BIGINT NOT NULL,
    buckets  TEXT NOT NULL,             -- successful checks per latency bucket (tally.rs)
    errors   TEXT NOT NULL,             -- failures by kind: "kind=n ..."
    PRIMARY KEY (hour, region, endpoint, kind)
);
CREATE TABLE probe_rollups (            -- per region: every hour before `through` is in probe_hours
    region   TEXT PRIMARY KEY,
    through  BIGINT NOT NULL
);
CREATE TABLE probe_incidents (          -- an endpoint failing from a region
    id       BIGINT PRIMARY KEY,
    region   TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    started  BIGINT NOT NULL,           -- the first failed round
    ended    BIGINT,                    -- the first good round after; NULL while it lasts
    errors   TEXT NOT NULL,             -- the error kinds seen, space separated
    detail   TEXT NOT NULL              -- the first failure's words
);
CREATE INDEX probe_incidents_started ON probe_incidents (started);
