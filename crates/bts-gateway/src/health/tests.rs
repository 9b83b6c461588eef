//! The health rules on constructed observations: lag against the corroborated head, one runaway
//! node, stopped heads at every phase, two-node pools, a stalled chain, the thresholds and a
//! wrong chain.

use super::*;

const START: u64 = 1_700_000_000;

fn rules() -> Rules {
    Rules::from(&HealthSettings::default())
}

fn wall(secs: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(START as f64 + secs)
}

/// What a node with blocks every `interval` seconds reports at `t` (seconds after START), its head
/// stopped at `frozen_at` if given.
fn node(t: f64, interval: u32, frozen_at: Option<f64>) -> CheckResult {
    let t = frozen_at.map_or(t, |f| t.min(f));
    let slot = (t / f64::from(interval)).floor() as u32;
    CheckResult::Answered(Observation {
        head: Head {
            number: 100 + slot,
            time: TimePointSec(START as u32 + slot * interval),
            last_irreversible: 100 + slot.saturating_sub(5),
        },
        block_interval: interval,
        rtt: Duration::from_millis(3),
    })
}

fn answered(number: u32, time_secs: u32) -> CheckResult {
    CheckResult::Answered(Observation {
        head: Head {
            number,
            time: TimePointSec(START as u32 + time_secs),
            last_irreversible: number.saturating_sub(2),
        },
        block_interval: 3,
        rtt: Duration::from_millis(3),
    })
}

fn pool(n: u64) -> PoolHealth {
    let mut p = PoolHealth::new("mainnet", ChainId::MAINNET, rules());
    for i in 0..n {
        p.add(BackendId(i));
    }
    p
}

fn state(p: &PoolHealth, i: u64) -> State {
    p.tracker(BackendId(i)).unwrap().state()
}

fn reason(p: &PoolHealth, i: u64) -> String {
    p.tracker(BackendId(i)).unwrap().reason().to_string()
}

#[test]
fn first_good_check_admits_at_once() {
    let mut p = pool(2);
    assert_eq!(state(&p, 0), State::Unknown);
    assert_eq!(reason(&p, 0), "not checked yet");
    assert_eq!(
        p.record(BackendId(0), answered(125, 375), wall(376.0)),
        Some(State::Healthy)
    );
    assert_eq!(reason(&p, 0), "head 125 in sync");
    assert_eq!(state(&p, 1), State::Unknown, "unchecked backends stay unused");
    assert_eq!(p.record(BackendId(9), answered(1, 1), wall(1.0)), None, "untracked");
}

#[test]
fn lag_is_measured_against_the_corroborated_head() {
    let mut p = pool(3);
    p.record(BackendId(0), answered(125, 375), wall(376.0));
    p.record(BackendId(1), answered(125, 375), wall(376.1));
    p.record(BackendId(2), answered(120, 360), wall(376.2));
    assert_eq!(state(&p, 2), State::Out);
    assert_eq!(reason(&p, 2), "head 120 is 5 blocks behind 125");
    // One block behind (3 s, within two block intervals) is a good check.
    p.record(BackendId(2), answered(124, 372), wall(377.0));
    assert_eq!(state(&p, 2), State::Out, "one good check is not enough to come back");
    assert!(
        reason(&p, 2).starts_with("passing again, 1 of 2 good checks (was: head 120"),
        "{}",
        reason(&p, 2)
    );
    p.record(BackendId(2), answered(125, 375), wall(378.5));
    assert_eq!(state(&p, 2), State::Healthy);
    // Four blocks behind by number, with head times that do not show it (missed slots): out.
    p.record(BackendId(0), answered(130, 390), wall(391.0));
    p.record(BackendId(1), answered(130, 390), wall(391.0));
    p.record(BackendId(2), answered(126, 387), wall(391.2));
    assert_eq!(reason(&p, 2), "head 126 is 4 blocks behind 130");
    assert_eq!(p.head().map(|h| h.number), Some(130));
}

#[test]
fn a_node_that_lags_while_advancing_is_out_in_a_pool_of_two() {
    // The other node is live (its head is young when read), so its head is the reference even
    // though nobody corroborates it: the lagging one is 4 blocks behind, not "in sync".
    let mut p = pool(2);
    p.record(BackendId(0), answered(125, 375), wall(376.0));
    p.record(BackendId(1), answered(121, 363), wall(376.1));
    assert_eq!(state(&p, 1), State::Out, "{}", reason(&p, 1));
    assert_eq!(reason(&p, 1), "head 121 is 4 blocks behind 125");
    assert_eq!(p.tracker(BackendId(1)).unwrap().behind(), Some(4));
    assert_eq!(p.head().map(|h| h.number), Some(125), "the pool's head is the live one");
    // Still advancing, still behind: still out.
    p.record(BackendId(0), answered(126, 378), wall(378.0));
    p.record(BackendId(1), answered(122, 366), wall(378.1));
    assert_eq!(state(&p, 1), State::Out);
    assert_eq!(state(&p, 0), State::Healthy, "{}", reason(&p, 0));
    // Caught up: back after the success threshold.
    p.record(BackendId(1), answered(126, 378), wall(379.0));
    p.record(BackendId(1), answered(126, 378), wall(379.5));
    assert_eq!(state(&p, 1), State::Healthy, "{}", reason(&p, 1));
}

#[test]
fn two_lagging_nodes_of_three_are_out() {
    // The second-highest head is itself behind; the live node's head is the reference.
    let mut p = pool(3);
    p.record(BackendId(0), answered(125, 375), wall(376.0));
    p.record(BackendId(1), answered(120, 360), wall(376.1));
    p.record(BackendId(2), answered(120, 360), wall(376.2));
    assert_eq!(
        [state(&p, 0), state(&p, 1), state(&p, 2)],
        [State::Healthy, State::Out, State::Out]
    );
    assert_eq!(reason(&p, 2), "head 120 is 5 blocks behind 125");
}

#[test]
fn a_runaway_or_stale_head_vouches_for_nothing() {
    // Far ahead of what the time between the blocks allows: not a reference.
    let mut p = pool(2);
    p.record(BackendId(0), answered(30_000_000, 375), wall(376.0));
    p.record(BackendId(1), answered(125, 375), wall(376.1));
    assert_eq!(state(&p, 1), State::Healthy, "{}", reason(&p, 1));
    // Ahead, but its head was old when read (it is not following a live chain): not a reference.
    let mut p = pool(2);
    p.record(BackendId(0), answered(130, 390), wall(500.0));
    p.record(BackendId(1), answered(125, 375), wall(500.1));
    assert_eq!(p.tracker(BackendId(1)).unwrap().behind(), Some(0));
}

#[test]
fn one_runaway_node_condemns_nobody() {
    let mut p = pool(3);
    p.record(BackendId(0), answered(30_000_000, 375), wall(376.0));
    p.record(BackendId(1), answered(125, 375), wall(376.1));
    p.record(BackendId(2), answered(124, 372), wall(376.2));
    assert_eq!(
        [state(&p, 0), state(&p, 1), state(&p, 2)],
        [State::Healthy; 3],
        "{} / {}",
        reason(&p, 1),
        reason(&p, 2)
    );
    assert_eq!(
        p.head().map(|h| h.number),
        Some(125),
        "the runaway is not the pool's head"
    );
    assert_eq!(p.head().map(|h| h.last_irreversible), Some(123));
}

#[test]
fn a_single_backend_is_its_own_reference() {
    let mut p = pool(1);
    p.record(BackendId(0), answered(10, 30), wall(100_000.0));
    assert_eq!(state(&p, 0), State::Healthy, "{}", reason(&p, 0));
    assert!(p.stall(wall(100_000.0)).is_some(), "but an old head is a stalled chain");
}

/// Checks of `n` nodes with 1 s blocks every 1.5 s at the given phases, one node frozen at
/// `frozen_at`: returns the frozen node's check count after the freeze at which it went out,
/// and asserts that no healthy node ever goes out.
fn run_freeze(phases: &[f64], frozen: usize, frozen_at: f64) -> Option<usize> {
    let mut p = pool(phases.len() as u64);
    let mut events: Vec<(f64, usize)> = Vec::new();
    for (i, phase) in phases.iter().enumerate() {
        events.extend((0..40).map(|k| (phase + 1.5 * f64::from(k), i)));
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut checks_after = 0;
    for (t, i) in events {
        let freeze = (i == frozen).then_some(frozen_at);
        p.record(BackendId(i as u64), node(t, 1, freeze), wall(t));
        if i == frozen && t > frozen_at {
            checks_after += 1;
            if state(&p, i as u64) == State::Out {
                // Stopped, or already behind the live nodes by more than max-lag-blocks.
                let why = reason(&p, i as u64);
                assert!(why.contains("stopped") || why.contains("blocks behind"), "{why}");
                return Some(checks_after);
            }
        } else if i != frozen {
            assert_eq!(
                state(&p, i as u64),
                State::Healthy,
                "t={t} node {i}: {}",
                reason(&p, i as u64)
            );
        }
    }
    None
}

#[test]
fn a_frozen_node_is_out_by_its_third_check_at_any_phase() {
    let mut worst = 0;
    let mut by_second = 0;
    let mut runs = 0;
    for a in 0..6 {
        for b in 0..6 {
            for f in 0..10 {
                let phases = [0.0, f64::from(a) * 0.25, f64::from(b) * 0.25];
                let checks = run_freeze(&phases, 1, 20.0 + f64::from(f) * 0.1).expect("never went out");
                worst = worst.max(checks);
                by_second += usize::from(checks <= 2);
                runs += 1;
            }
        }
    }
    assert!(worst <= 3, "worst case {worst} checks");
    assert!(
        by_second * 2 > runs,
        "usually by the second check: {by_second} of {runs}"
    );
}

#[test]
fn a_frozen_node_of_two_is_noticed() {
    for phase in [0.0, 0.4, 0.75, 1.2] {
        let checks = run_freeze(&[0.0, phase], 1, 12.3).expect("never went out");
        assert!(checks <= 3, "phase {phase}: {checks}");
    }
}

#[test]
fn a_whole_chain_stall_keeps_the_pool_and_is_flagged() {
    let mut p = pool(3);
    let stop = 20.0;
    for k in 0..60 {
        for i in 0..3u64 {
            let t = f64::from(k) * 1.5 + i as f64 * 0.5;
            p.record(BackendId(i), node(t, 1, Some(stop)), wall(t));
            assert_eq!(state(&p, i), State::Healthy, "t={t}: {}", reason(&p, i));
        }
    }
    let stall = p.stall(wall(90.0)).expect("stalled");
    assert_eq!(stall.head.number, 120);
    assert!(stall.age >= Duration::from_secs(69));
    assert!(
        p.stall(wall(40.0)).is_none(),
        "20 s old is not yet a stall (30 s with 1 s blocks)"
    );
}

#[test]
fn stall_threshold_follows_the_block_interval_or_the_setting() {
    let mut p = pool(1);
    p.record(BackendId(0), node(0.0, 10, None), wall(0.0));
    assert!(p.stall(wall(99.0)).is_none(), "ten 10 s intervals");
    assert!(p.stall(wall(101.0)).is_some());
    p.set_rules(Rules {
        stall_after: Some(Duration::from_secs(5)),
        ..rules()
    });
    assert!(p.stall(wall(6.0)).is_some());
}

#[test]
fn consecutive_failures_take_a_backend_out() {
    let mut p = pool(1);
    p.record(BackendId(0), answered(10, 30), wall(31.0));
    p.record(BackendId(0), CheckResult::Timeout, wall(32.0));
    assert_eq!(state(&p, 0), State::Healthy, "one timeout is below the threshold");
    assert_eq!(reason(&p, 0), "1 consecutive timeout; out at 2");
    p.record(BackendId(0), answered(11, 33), wall(33.0));
    p.record(BackendId(0), CheckResult::Timeout, wall(34.0));
    assert_eq!(state(&p, 0), State::Healthy, "a good check resets the count");
    p.record(BackendId(0), CheckResult::Timeout, wall(35.0));
    p.record(BackendId(0), CheckResult::Timeout, wall(36.0));
    assert_eq!(state(&p, 0), State::Out);
    assert_eq!(reason(&p, 0), "3 consecutive timeouts");
    p.record(
        BackendId(0),
        CheckResult::Error("cannot connect: refused".into()),
        wall(37.0),
    );
    assert_eq!(reason(&p, 0), "4 consecutive errors (last: cannot connect: refused)");
    assert_eq!(p.tracker(BackendId(0)).unwrap().checks(), (7, 5));
    p.record(BackendId(0), answered(12, 36), wall(38.0));
    p.record(BackendId(0), answered(13, 39), wall(39.0));
    assert_eq!(state(&p, 0), State::Healthy);
}

#[test]
fn a_wrong_chain_is_out_at_once_and_does_not_vote() {
    let mut p = pool(2);
    p.record(BackendId(0), answered(125, 375), wall(376.0));
    p.record(BackendId(1), CheckResult::WrongChain(ChainId::TESTNET), wall(376.0));
    assert_eq!(state(&p, 1), State::Out);
    assert_eq!(reason(&p, 1), "chain id 39f5e2ed… is not mainnet's 4018d784…");
    assert_eq!(p.head().map(|h| h.number), Some(125));
    let availability = p.tracker(BackendId(1)).unwrap().availability();
    assert_eq!(availability.fraction(wall(400.0), Duration::from_secs(3600)), Some(0.0));
}

#[test]
fn corroboration_helpers() {
    assert_eq!(corroborated([].into_iter()), None);
    assert_eq!(corroborated([7].into_iter()), Some(7));
    assert_eq!(corroborated([7, 9, 8].into_iter()), Some(8));
    assert_eq!(corroborated([9, 9, 1].into_iter()), Some(9));
    assert_eq!(second_lowest([].into_iter()), f64::INFINITY);
    assert_eq!(second_lowest([3.0].into_iter()), 3.0);
    assert_eq!(second_lowest([-2.0].into_iter()), 0.0, "a clock behind the chain");
    assert_eq!(second_lowest([0.5, 4.0, 0.7].into_iter()), 0.5);
}
