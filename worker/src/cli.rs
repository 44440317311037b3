//! `keel-worker`'s command line: `run` (the default) and the operator's `jobs` commands.

use std::io::Write;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use keel_shared::jobs::{QUEUES, Queue};

use crate::jobs::Registry;

/// The command line.
#[derive(Parser)]
#[command(
    name = "keel-worker",
    version,
    about = "Keel's background worker: runs queued jobs"
)]
pub struct Cli {
    /// What to do (default: run).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Top-level commands.
#[derive(Subcommand)]
pub enum Command {
    /// Run jobs until SIGTERM or Ctrl-C, answering probes on KEEL_WORKER_HEALTH_ADDR.
    Run,
    /// Inspect and operate the queues.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Probe this worker's own /healthz (or /readyz) on KEEL_WORKER_HEALTH_ADDR; exit 0 when it
    /// answers 2xx, else 1 (container health checks without curl).
    Healthcheck {
        /// Probe /readyz (PostgreSQL and Redis reachable, not draining) instead of /healthz.
        #[arg(long)]
        ready: bool,
        /// Give up after this many milliseconds.
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
        timeout_ms: u64,
    },
}

/// `keel-worker jobs ...`.
#[derive(Subcommand)]
pub enum JobsCommand {
    /// Per queue: pending, in_flight, scheduled, dead, processed, failed, retried.
    Stats {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Enqueue a job by name with a JSON payload.
    Enqueue {
        /// The job's name (see `keel-worker jobs names`).
        name: String,
        /// The payload as JSON.
        #[arg(long, default_value = "{}")]
        payload: String,
        /// How many copies to enqueue.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
        count: u32,
        /// Pace the enqueueing at about this many jobs per second (default: as fast as
        /// possible, in pipelined batches).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        rate: Option<u32>,
    },
    /// List the job names this worker runs.
    Names,
    /// The dead set.
    #[command(subcommand)]
    Dead(DeadCommand),
}

/// `keel-worker jobs dead ...`.
#[derive(Subcommand)]
pub enum DeadCommand {
    /// List dead jobs, most recent first.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Put one dead job back on its queue (as a first attempt).
    Retry {
        /// The dead job's id (from `list`).
        id: String,
    },
    /// Put every dead job back on its queue.
    RetryAll,
    /// Delete dead jobs (all, or older than --older-than-hours).
    Purge {
        /// Only those that died more than this many hours ago.
        #[arg(long)]
        older_than_hours: Option<u64>,
    },
}

/// Runs a `jobs` command, writing its output to `out`.
pub async fn jobs(
    cmd: JobsCommand,
    queue: &Queue,
    registry: &Registry,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match cmd {
        JobsCommand::Stats { json } => {
            let queues: Vec<String> = QUEUES.iter().map(|q| (*q).to_owned()).collect();
            let stats = queue.stats(&queues).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&stats)?)?;
            } else {
                writeln!(
                    out,
                    "{:<10} {:>10} {:>10} {:>10} {:>8} {:>12} {:>10} {:>10}",
                    "queue",
                    "pending",
                    "in_flight",
                    "scheduled",
                    "dead",
                    "processed",
                    "failed",
                    "retried"
                )?;
                for s in stats {
                    writeln!(
                        out,
                        "{:<10} {:>10} {:>10} {:>10} {:>8} {:>12} {:>10} {:>10}",
                        s.queue,
                        s.pending,
                        s.in_flight,
                        s.scheduled,
                        s.dead,
                        s.processed,
                        s.failed,
                        s.retried
                    )?;
                }
            }
        }
        JobsCommand::Enqueue {
            name,
            payload,
            count,
            rate,
        } => {
            let Some((version, job)) = registry.latest(&name) else {
                bail!(
                    "unknown job {name:?}; known jobs: {}",
                    registry.names().join(", ")
                );
            };
            let payload: serde_json::Value =
                serde_json::from_str(&payload).context("--payload is not valid JSON")?;
            job.validate(&payload)
                .map_err(|e| anyhow::anyhow!("--payload does not fit job {name}: {e}"))?;
            let make = |n: u32| -> Vec<_> {
                (0..n)
                    .map(|_| Queue::envelope(job.name, version, job.queue, payload.clone()))
                    .collect()
            };
            match rate {
                None => queue.push_many(&make(count)).await?,
                Some(rate) => {
                    // Batches every 10 ms; each envelope is stamped when its batch is built.
                    let per_tick = (rate / 100).max(1);
                    let mut tick = tokio::time::interval(std::time::Duration::from_millis(10));
                    let mut left = count;
                    while left > 0 {
                        tick.tick().await;
                        let n = per_tick.min(left);
                        queue.push_many(&make(n)).await?;
                        left -= n;
                    }
                }
            }
            writeln!(out, "enqueued {count} {name} job(s) on queue {}", job.queue)?;
        }
        JobsCommand::Names => {
            for name in registry.names() {
                writeln!(out, "{name}")?;
            }
        }
        JobsCommand::Dead(DeadCommand::List { limit, json }) => {
            let dead = queue.dead_list(limit).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&dead)?)?;
            } else {
                for d in dead {
                    let died = chrono::DateTime::from_timestamp_millis(d.died_at_ms)
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "{}  {}  {}  attempts={}  {}  {}",
                        d.id,
                        d.queue,
                        d.name.as_deref().unwrap_or("(unreadable)"),
                        d.attempts,
                        died,
                        d.error
                    )?;
                }
            }
        }
        JobsCommand::Dead(DeadCommand::Retry { id }) => {
            if !queue.dead_retry(&id).await? {
                bail!("no dead job with id {id}");
            }
            writeln!(out, "dead job {id} is back on its queue")?;
        }
        JobsCommand::Dead(DeadCommand::RetryAll) => {
            let n = queue.dead_retry_all().await?;
            writeln!(out, "{n} dead job(s) back on their queues")?;
        }
        JobsCommand::Dead(DeadCommand::Purge { older_than_hours }) => {
            let before = match older_than_hours {
                Some(h) => {
                    chrono::Utc::now().timestamp_millis()
                        - i64::try_from(h.saturating_mul(3_600_000)).unwrap_or(i64::MAX / 2)
                }
                None => i64::MAX,
            };
            let n = queue.dead_purge(before).await?;
            writeln!(out, "purged {n} dead job(s)")?;
        }
    }
    Ok(())
}
