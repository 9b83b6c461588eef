//! The history on SQLite and, when `BTS_TEST_POSTGRES_URL` names a database, on PostgreSQL:
//! downsampling with a pinned clock, retention, regions sharing a database, incidents.

use super::*;

/// 2026-12-01T00:00:00Z.
const T0: i64 = 1_796_083_200;

fn sample(at: i64, region: &str, endpoint: &str, check: Check, result: Result<f64, ErrorKind>) -> Sample {
    Sample {
        at,
        region: region.into(),
        endpoint: endpoint.into(),
        network: "mainnet".into(),
        check,
        result,
        detail: result.err().map(|k| format!("{k} happened")),
    }
}

/// A region's checks every minute for `minutes` from `start`: ws latency grows with the minute,
/// every seventh ws check fails (alternating kinds), http always answers in 5 ms.
fn minutes(start: i64, minutes: i64, region: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for m in 0..minutes {
        let at = start + m * 60;
        let ws = match m % 7 {
            0 if m % 2 == 0 => Err(ErrorKind::Timeout),
            0 => Err(ErrorKind::StaleHead),
            _ => Ok(10.0 + (m % 60) as f64 * 3.0),
        };
        out.push(sample(at, region, "main", Check::Ws, ws));
        out.push(sample(at, region, "main", Check::Http, Ok(5.0)));
    }
    out
}

/// Unique region names, so runs sharing a PostgreSQL database do not meet.
fn region(name: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{name}-{}-{n}", std::process::id())
}

fn only(tallies: BTreeMap<TallyKey, Tally>, region: &str) -> BTreeMap<TallyKey, Tally> {
    tallies.into_iter().filter(|(k, _)| k.1 == region).collect()
}

/// SQLite, and PostgreSQL from `BTS_TEST_POSTGRES_URL` (scripts/setup-system sets it up); as for
/// the faucet, a missing PostgreSQL fails the test unless `BTS_TEST_SKIP_POSTGRES=1`.
async fn stores() -> Vec<(&'static str, Store)> {
    let mut out = vec![("sqlite", Store::open("sqlite::memory:").await.expect("sqlite"))];
    match std::env::var("BTS_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => out.push(("postgres", Store::open(&url).await.expect("postgres"))),
        _ if std::env::var("BTS_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1") => {
            eprintln!("PostgreSQL variant skipped (BTS_TEST_SKIP_POSTGRES=1)");
        }
        _ => panic!(
            "BTS_TEST_POSTGRES_URL is not set: the history's tests run on PostgreSQL too. \
             `eval \"$(scripts/setup-system)\"` sets it up, or skip with BTS_TEST_SKIP_POSTGRES=1"
        ),
    }
    out
}

#[tokio::test]
async fn folding_hours_keeps_every_figure_and_retention_drops_only_old_rows() {
    for (db, store) in stores().await {
        let us = region("us");
        // Three hours and a half of checks, from T0.
        store.insert(&minutes(T0, 210, &us)).await.expect("insert");
        let now = T0 + 210 * 60;
        let before = only(store.hourly(T0, None).await.expect("hourly"), &us);
        assert_eq!(before.len(), 8, "{db}: four hours (the last one partial) × two checks");
        let folded = store.roll_up(&us, now).await.expect("roll up");
        assert_eq!(folded, 3, "{db}: the three finished hours");
        let after = only(store.hourly(T0, None).await.expect("hourly"), &us);
        assert_eq!(
            before, after,
            "{db}: an hour's tally is the same from samples and from its row"
        );
        // The first hour's figures, worked by hand: minutes 0..59, 9 failures (m % 7 == 0).
        let first = &after[&(T0, us.clone(), "main".into(), Check::Ws)];
        assert_eq!((first.total, first.ok), (60, 51), "{db}");
        assert_eq!(first.errors.get(&ErrorKind::Timeout), Some(&5), "{db}");
        assert_eq!(first.errors.get(&ErrorKind::StaleHead), Some(&4), "{db}");
        // Folding again changes nothing; samples stay for two days.
        assert_eq!(store.roll_up(&us, now).await.expect("roll up"), 0, "{db}");
        assert_eq!(
            store
                .samples(T0)
                .await
                .expect("samples")
                .iter()
                .filter(|s| s.region == us)
                .count(),
            420
        );

        // Two days and an hour later: the samples are gone, the hours stay and still add up.
        let later = T0 + 2 * 86_400 + 4 * 3_600;
        store.roll_up(&us, later).await.expect("roll up");
        assert_eq!(
            store
                .samples(T0)
                .await
                .expect("samples")
                .iter()
                .filter(|s| s.region == us)
                .count(),
            0,
            "{db}"
        );
        let kept = only(store.hourly(T0, None).await.expect("hourly"), &us);
        assert_eq!(kept, before, "{db}: the partial fourth hour was folded when it ended");

        // 400 days on, the hours go too.
        store
            .roll_up(&us, T0 + HOURS_KEPT_SECS + 4 * 3_600)
            .await
            .expect("roll up");
        assert!(
            only(store.hourly(T0, None).await.expect("hourly"), &us).is_empty(),
            "{db}"
        );
        store.close().await;
    }
}

#[tokio::test]
async fn regions_sharing_a_database_roll_up_their_own_rows_only() {
    for (db, store) in stores().await {
        let (us, asia) = (region("us"), region("asia"));
        store.insert(&minutes(T0, 120, &us)).await.expect("insert");
        store.insert(&minutes(T0, 120, &asia)).await.expect("insert");
        let now = T0 + 3 * 86_400;
        store.roll_up(&us, now).await.expect("roll up");
        let samples = store.samples(T0).await.expect("samples");
        assert!(samples.iter().all(|s| s.region != us), "{db}: us folded and pruned");
        assert_eq!(
            samples.iter().filter(|s| s.region == asia).count(),
            240,
            "{db}: asia untouched"
        );
        // Both regions read the same through `hourly`, folded or not.
        let all = store.hourly(T0, None).await.expect("hourly");
        let tally = |r: &str| all[&(T0, r.to_owned(), "main".to_owned(), Check::Http)].clone();
        assert_eq!(tally(&us), tally(&asia), "{db}");
        store.roll_up(&asia, now).await.expect("roll up");
        store.close().await;
    }
}

/// `region`'s incidents from T0 on.
async fn incidents_of(store: &Store, region: &str) -> Vec<Incident> {
    let all = store.incidents(T0).await.expect("list");
    all.into_iter().filter(|i| i.region == region).collect()
}

#[tokio::test]
async fn incidents_open_grow_and_close() {
    for (db, store) in stores().await {
        let us = region("us");
        let id = store
            .open_incident(&us, "main", T0, &[ErrorKind::Connect], "refused")
            .await
            .expect("open");
        store
            .incident_errors(id, &[ErrorKind::Connect, ErrorKind::Timeout])
            .await
            .expect("grow");
        let open = incidents_of(&store, &us).await;
        assert_eq!(open.len(), 1, "{db}");
        assert_eq!(open[0].ended, None, "{db}");
        assert_eq!(open[0].errors, [ErrorKind::Connect, ErrorKind::Timeout], "{db}");
        store.close_incident(id, T0 + 300).await.expect("close");
        store
            .close_incident(id, T0 + 900)
            .await
            .expect("a second close changes nothing");
        let closed = incidents_of(&store, &us).await;
        assert_eq!(closed[0].ended, Some(T0 + 300), "{db}");
        assert_eq!(closed[0].detail, "refused", "{db}");
        store.close().await;
    }
}

/// What a year costs on disk: one endpoint with ws, http and tls checks every minute, in a file,
/// folded hour by hour as the prober does. Slow (a year of rounds), so run on demand:
/// `cargo test -p bts-probe --lib a_year -- --ignored --nocapture`; docs/kpis.md quotes it.
#[tokio::test]
#[ignore = "a year of rounds: minutes of work, run on demand"]
async fn a_year_of_history_fits_in_a_small_file() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("year.sqlite");
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    let hours = 366 * 24;
    for hour in 0..hours {
        let start = T0 + hour * HOUR;
        let mut samples = minutes(start, 60, "us");
        samples.extend((0..60).map(|m| sample(start + m * 60, "us", "main", Check::Tls, Ok(0.0))));
        store.insert(&samples).await.expect("insert");
        store.roll_up("us", start + HOUR).await.expect("roll up");
    }
    sqlx::query("VACUUM").execute(&store.pool).await.expect("vacuum");
    store.close().await;
    let bytes = std::fs::metadata(&path).expect("file").len();
    eprintln!(
        "a year of one endpoint (3 checks a minute): {:.1} MiB",
        bytes as f64 / 1_048_576.0
    );
    assert!(bytes < 16 * 1_048_576, "{bytes} bytes");
}

#[tokio::test]
async fn an_endpoint_renamed_to_another_network_mid_hour_still_folds() {
    for (db, store) in stores().await {
        let us = region("us");
        let mut samples = minutes(T0, 30, &us);
        let mut renamed = minutes(T0 + 30 * 60, 30, &us);
        renamed.iter_mut().for_each(|s| s.network = "mainnet-2".into());
        samples.append(&mut renamed);
        store.insert(&samples).await.expect("insert");
        assert_eq!(store.roll_up(&us, T0 + 2 * HOUR).await.expect("folds"), 1, "{db}");
        let mine = store.hourly(T0, Some(&us)).await.expect("hourly");
        assert_eq!(mine[&(T0, us.clone(), "main".into(), Check::Http)].total, 60, "{db}");
        assert!(
            mine.keys().all(|k| k.1 == us),
            "{db}: one region asked, one region read"
        );
        store.close().await;
    }
}

#[test]
fn failure_words_are_bounded() {
    let long = crate::check::Failure::new(ErrorKind::Protocol, "é".repeat(10_000));
    assert_eq!(long.detail.chars().count(), crate::check::DETAIL_MAX + 1);
    assert!(long.detail.ends_with('…'));
    assert_eq!(crate::check::Failure::new(ErrorKind::Protocol, "short").detail, "short");
}
