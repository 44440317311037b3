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

/// A scheduler of `entries` with a 300 s misfire grace.
fn scheduler(q: &Queue, entries: Vec<Resolved>) -> Scheduler {
    Scheduler::new(entries, q.clone(), Duration::from_secs(300))
}

/// Where a scheduler that ran earlier left the test entry's cursor.
async fn cursor_left_at(q: &Queue, slot: DateTime<Utc>) {
    q.advance_slot_cursor("test_entry", slot.timestamp_millis())
        .await
        .expect("cursor");
}

/// An entry turned off.
fn off() -> Resolved {
    Resolved {
        schedule: None,
        ..entry("* * * * * *", Misfire::Skip)
    }
}

#[tokio::test]
async fn the_first_tick_ever_fires_nothing_then_each_due_slot_fires() {
    let redis = TestRedis::new();
    let q = redis.queue();
    let s = scheduler(&q, vec![entry("*/5 * * * * *", Misfire::Skip)]);

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

/// Two replicas of an every-second entry tick together at :01 .. :05; with `a_walks_from_its_last_tick`,
/// replica a walks from its previous tick instead of the cursor. Returns how many fired, and
/// the slots in the queue.
async fn two_replicas_tick_together(a_walks_from_its_last_tick: bool) -> (usize, Vec<i64>) {
    let redis = TestRedis::new();
    let q = redis.queue();
    let a = scheduler(&q, vec![entry("* * * * * *", Misfire::Skip)]);
    let b = scheduler(&q, vec![entry("* * * * * *", Misfire::Skip)]);
    a.tick(at(0, 0, 0)).await.expect("tick");

    let mut fired = 0;
    for second in 1..=5 {
        let now = at(0, 0, second);
        let last = a_walks_from_its_last_tick.then(|| at(0, 0, second - 1));
        let (ra, rb) = tokio::join!(a.tick_after(now, last), b.tick(now));
        fired += ra.expect("a").fired + rb.expect("b").fired;
    }
    (fired, fired_slots(&q).await)
}

fn seconds_one_to_five() -> Vec<i64> {
    (1..=5).map(|s| at(0, 0, s).timestamp_millis()).collect()
}

#[tokio::test]
async fn two_replicas_ticking_together_fire_each_slot_once() {
    let (fired, slots) = two_replicas_tick_together(false).await;

    assert_eq!(fired, 5);
    assert_eq!(slots.len(), 5);
    assert_eq!(slots, seconds_one_to_five());
}

#[tokio::test]
async fn replicas_walking_from_their_last_tick_or_the_cursor_fire_each_slot_once() {
    let (fired, slots) = two_replicas_tick_together(true).await;

    assert_eq!(fired, 5);
    assert_eq!(slots, seconds_one_to_five());
}

#[tokio::test]
async fn a_tick_after_a_successful_one_walks_from_it_without_the_cursor() {
    let redis = TestRedis::new();
    let q = redis.queue();
    cursor_left_at(&q, at(0, 0, 0)).await;
    let s = scheduler(&q, vec![entry("*/5 * * * * *", Misfire::Skip)]);

    // This replica handled everything up to :07, so only :10 is new (the cursor says :00).
    let r = s.tick_after(at(0, 0, 12), Some(at(0, 0, 7))).await;

    assert_eq!(r.expect("tick"), report(1, 0, 0));
    assert_eq!(fired_slots(&q).await, vec![at(0, 0, 10).timestamp_millis()]);
}

#[tokio::test]
async fn slots_missed_while_down_are_skipped_under_skip() {
    let redis = TestRedis::new();
    let q = redis.queue();
    cursor_left_at(&q, at(0, 0, 0)).await;
    let s = scheduler(&q, vec![entry("*/5 * * * * *", Misfire::Skip)]);

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
    cursor_left_at(&q, at(0, 0, 0)).await;
    let s = scheduler(&q, vec![entry("*/5 * * * * *", Misfire::Once)]);

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
    cursor_left_at(&q, at(0, 0, 0)).await;
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
    let s = scheduler(&q, vec![off()]);

    s.tick(at(0, 0, 0)).await.expect("tick");
    let r = s.tick(at(0, 0, 30)).await.expect("tick");

    assert_eq!(r, report(0, 0, 0));
    assert!(fired_slots(&q).await.is_empty());
}

#[tokio::test]
async fn the_next_slot_is_the_earliest_of_the_enabled_entries_strictly_after_now() {
    let redis = TestRedis::new();
    let s = scheduler(
        &redis.queue(),
        vec![
            entry("*/5 * * * * *", Misfire::Skip),
            entry("*/3 * * * * *", Misfire::Skip),
            off(),
        ],
    );

    assert_eq!(s.next_slot(at(0, 0, 2)), Some(at(0, 0, 3)));
    assert_eq!(
        s.next_slot(at(0, 0, 3)),
        Some(at(0, 0, 5)),
        "strictly after"
    );
    assert_eq!(s.next_slot(at(0, 0, 5)), Some(at(0, 0, 6)));
}

#[tokio::test]
async fn a_scheduler_whose_entries_are_all_off_has_no_next_slot() {
    let redis = TestRedis::new();
    let s = scheduler(&redis.queue(), vec![off()]);

    assert_eq!(s.next_slot(at(0, 0, 0)), None);
}

#[tokio::test]
async fn the_running_loop_fires_each_slot_and_stops_as_soon_as_asked() {
    let redis = TestRedis::new();
    let q = redis.queue();
    let s = scheduler(&q, vec![entry("* * * * * *", Misfire::Skip)]);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        s.run(async {
            let _ = stop_rx.await;
        })
        .await;
    });

    // Stop half-way between two slots: the loop is asleep, waiting for the next one.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let to_half_second = (1_500 - u64::from(Utc::now().timestamp_subsec_millis())) % 1_000;
    tokio::time::sleep(Duration::from_millis(to_half_second)).await;
    let asked = std::time::Instant::now();
    stop_tx.send(()).expect("still running");
    running.await.expect("loop ended");

    assert!(
        asked.elapsed() < Duration::from_millis(300),
        "took {:?} to stop",
        asked.elapsed()
    );
    let slots = fired_slots(&q).await;
    assert!(slots.len() >= 2, "fired {slots:?}");
    assert!(
        slots.windows(2).all(|w| w[1] - w[0] == 1000),
        "each second once: {slots:?}"
    );
}
