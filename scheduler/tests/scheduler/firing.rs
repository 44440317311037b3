//! Slots fire exactly once across replicas; missed slots follow the misfire policy.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use keel_scheduler::firing::{Scheduler, TickReport};
use keel_scheduler::schedule::{JobSpec, Misfire, Resolved};
use keel_shared::jobs::Queue;
use keel_shared::jobs::payloads::Noop;
use keel_shared::testing::TestRedis;

fn entry(cron: &str, misfire: Misfire) -> Resolved {
    Resolved {
        name: "test_entry",
        schedule: Some(cron::Schedule::from_str(cron).expect("cron")),
        misfire,
        job: JobSpec::of(&Noop::default()).expect("spec"),
    }
}

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, h, m, s)
        .single()
        .expect("time")
}

fn report(fired: usize, skipped: usize, taken: usize) -> TickReport {
    TickReport {
        fired,
        skipped,
        taken,
    }
}

async fn fired_slots(q: &Queue) -> Vec<i64> {
    q.peek("default")
        .await
        .expect("peek")
        .iter()
        .map(|e| e.due_at_ms)
        .collect()
}

#[tokio::test]
async fn the_first_tick_ever_fires_nothing_then_each_due_slot_fires() {
    let redis = TestRedis::new();
    let q = redis.queue();
    let s = Scheduler::new(
        vec![entry("*/5 * * * * *", Misfire::Skip)],
        q.clone(),
        Duration::from_secs(300),
    );

    assert_eq!(s.tick(at(0, 0, 2)).await.expect("tick"), report(0, 0, 0));
    assert_eq!(s.tick(at(0, 0, 12)).await.expect("tick"), report(2, 0, 0));
    assert_eq!(
        s.tick(at(0, 0, 12)).await.expect("tick"),
        report(0, 0, 0),
        "nothing new"
    );

    assert_eq!(
        fired_slots(&q).await,
        vec![
            at(0, 0, 5).timestamp_millis(),
            at(0, 0, 10).timestamp_millis()
        ]
    );
}

#[tokio::test]
async fn two_replicas_ticking_together_fire_each_slot_once() {
    let redis = TestRedis::new();
    let q = redis.queue();
    let grace = Duration::from_secs(300);
    let a = Scheduler::new(vec![entry("* * * * * *", Misfire::Skip)], q.clone(), grace);
    let b = Scheduler::new(vec![entry("* * * * * *", Misfire::Skip)], q.clone(), grace);
    a.tick(at(0, 0, 0)).await.expect("tick");

    let mut fired = 0;
    for second in 1..=5 {
        let (ra, rb) = tokio::join!(a.tick(at(0, 0, second)), b.tick(at(0, 0, second)));
        let (ra, rb) = (ra.expect("a"), rb.expect("b"));
        fired += ra.fired + rb.fired;
    }

    assert_eq!(fired, 5);
    let slots = fired_slots(&q).await;
    assert_eq!(slots.len(), 5);
    assert_eq!(
        slots,
        (1..=5)
            .map(|s| at(0, 0, s).timestamp_millis())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn slots_missed_while_down_are_skipped_under_skip() {
    let redis = TestRedis::new();
    let q = redis.queue();
    q.advance_slot_cursor("test_entry", at(0, 0, 0).timestamp_millis())
        .await
        .expect("cursor");
    let s = Scheduler::new(
        vec![entry("*/5 * * * * *", Misfire::Skip)],
        q.clone(),
        Duration::from_secs(300),
    );

    // Back after a minute: slots :05-:45 were missed, :50-:60 are on time.
    let r = s.tick(at(0, 1, 0)).await.expect("tick");

    assert_eq!(r, report(3, 9, 0));
    assert_eq!(
        fired_slots(&q).await,
        vec![
            at(0, 0, 50).timestamp_millis(),
            at(0, 0, 55).timestamp_millis(),
            at(0, 1, 0).timestamp_millis()
        ]
    );
}

#[tokio::test]
async fn the_latest_missed_slot_runs_once_under_once() {
    let redis = TestRedis::new();
    let q = redis.queue();
    q.advance_slot_cursor("test_entry", at(0, 0, 0).timestamp_millis())
        .await
        .expect("cursor");
    let s = Scheduler::new(
        vec![entry("*/5 * * * * *", Misfire::Once)],
        q.clone(),
        Duration::from_secs(300),
    );

    let r = s.tick(at(0, 1, 0)).await.expect("tick");

    assert_eq!(r, report(4, 8, 0));
    assert_eq!(
        fired_slots(&q).await[0],
        at(0, 0, 45).timestamp_millis(),
        "the latest missed slot"
    );
}

#[tokio::test]
async fn a_missed_slot_older_than_the_grace_window_is_skipped_even_under_once() {
    let redis = TestRedis::new();
    let q = redis.queue();
    q.advance_slot_cursor("test_entry", at(0, 0, 0).timestamp_millis())
        .await
        .expect("cursor");
    let s = Scheduler::new(
        vec![entry("0 */5 * * * *", Misfire::Once)],
        q.clone(),
        Duration::from_secs(60),
    );

    // Back after an hour: 00:05 .. 00:55 missed (all older than the 60 s grace), 01:00 on time.
    let r = s.tick(at(1, 0, 0)).await.expect("tick");

    assert_eq!(r, report(1, 11, 0));
    assert_eq!(fired_slots(&q).await, vec![at(1, 0, 0).timestamp_millis()]);
}

#[tokio::test]
async fn a_disabled_entry_never_fires() {
    let redis = TestRedis::new();
    let q = redis.queue();
    let mut off = entry("* * * * * *", Misfire::Skip);
    off.schedule = None;
    let s = Scheduler::new(vec![off], q.clone(), Duration::from_secs(300));

    s.tick(at(0, 0, 0)).await.expect("tick");
    let r = s.tick(at(0, 0, 30)).await.expect("tick");

    assert_eq!(r, report(0, 0, 0));
    assert!(fired_slots(&q).await.is_empty());
}
