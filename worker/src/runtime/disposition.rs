//! What happens to a delivery once its run is over: the one decision between acknowledging,
//! retrying later and burying, kept pure so every branch has a unit test.

use std::time::Duration;

use crate::jobs::JobError;

/// How the attempt to run a delivery ended.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The handler succeeded.
    Succeeded,
    /// The handler failed (a timeout or a panic counts as a retryable failure).
    Failed(JobError),
    /// The delivery could not be run at all: its envelope does not decode, or no handler is
    /// registered for its name and version.
    Unrunnable(String),
}

/// Why a delivery goes to the dead set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BuryCause {
    /// Undecodable, or no handler here.
    Unrunnable,
    /// The handler said retrying cannot help.
    Permanent,
    /// The handler failed its last allowed attempt.
    Exhausted,
}

impl BuryCause {
    /// The log message for this cause.
    pub(super) fn message(self) -> &'static str {
        match self {
            Self::Unrunnable => "burying a job this worker cannot run",
            Self::Permanent => "job failed permanently; moved to the dead set",
            Self::Exhausted => "job failed its last attempt; moved to the dead set",
        }
    }
}

/// What to do with a delivery.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Disposition {
    /// Done: acknowledge it.
    Ack,
    /// Failed, attempts left: run it again after `after`, recording `error`.
    Retry {
        /// The delay before the next attempt.
        after: Duration,
        /// The failure, kept on the envelope.
        error: String,
    },
    /// Move it to the dead set with `error`, counting `attempts` runs.
    Bury {
        /// Why.
        cause: BuryCause,
        /// The failure, kept on the dead job.
        error: String,
        /// How many attempts were made.
        attempts: u32,
    },
}

/// Decides what happens after attempt `attempt` (1-based; 0 when the envelope did not
/// decode) of a job allowed `max_attempts`, where `retry_delay` is the backoff a retry would
/// wait.
pub(super) fn disposition(
    outcome: Outcome,
    attempt: u32,
    max_attempts: u32,
    retry_delay: Duration,
) -> Disposition {
    match outcome {
        Outcome::Succeeded => Disposition::Ack,
        Outcome::Unrunnable(error) => Disposition::Bury {
            cause: BuryCause::Unrunnable,
            error,
            // The attempt that found it unrunnable did not run it.
            attempts: attempt.saturating_sub(1),
        },
        Outcome::Failed(JobError::Permanent(e)) => Disposition::Bury {
            cause: BuryCause::Permanent,
            error: format!("{e:#}"),
            attempts: attempt,
        },
        Outcome::Failed(JobError::Retry(e)) if attempt >= max_attempts => Disposition::Bury {
            cause: BuryCause::Exhausted,
            error: format!("{e:#}"),
            attempts: attempt,
        },
        Outcome::Failed(JobError::Retry(e)) => Disposition::Retry {
            after: retry_delay,
            error: format!("{e:#}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELAY: Duration = Duration::from_millis(250);

    fn retry(msg: &str) -> Outcome {
        Outcome::Failed(JobError::Retry(
            anyhow::anyhow!("{msg}").context("while running"),
        ))
    }

    #[test]
    fn a_success_is_acknowledged() {
        assert_eq!(
            disposition(Outcome::Succeeded, 1, 3, DELAY),
            Disposition::Ack
        );
    }

    #[test]
    fn a_retryable_failure_with_attempts_left_is_retried_after_the_delay() {
        assert_eq!(
            disposition(retry("smtp down"), 2, 3, DELAY),
            Disposition::Retry {
                after: DELAY,
                error: "while running: smtp down".to_owned(),
            }
        );
    }

    #[test]
    fn a_retryable_failure_on_the_last_attempt_is_buried_with_its_attempts() {
        assert_eq!(
            disposition(retry("smtp down"), 3, 3, DELAY),
            Disposition::Bury {
                cause: BuryCause::Exhausted,
                error: "while running: smtp down".to_owned(),
                attempts: 3,
            }
        );
    }

    #[test]
    fn an_attempt_past_the_maximum_is_buried_not_retried() {
        let d = disposition(retry("again"), 7, 3, DELAY);
        assert!(
            matches!(
                d,
                Disposition::Bury {
                    cause: BuryCause::Exhausted,
                    attempts: 7,
                    ..
                }
            ),
            "{d:?}"
        );
    }

    #[test]
    fn a_permanent_failure_is_buried_on_its_first_attempt() {
        let outcome = Outcome::Failed(JobError::Permanent(anyhow::anyhow!("the record is gone")));
        assert_eq!(
            disposition(outcome, 1, 3, DELAY),
            Disposition::Bury {
                cause: BuryCause::Permanent,
                error: "the record is gone".to_owned(),
                attempts: 1,
            }
        );
    }

    #[test]
    fn an_unrunnable_delivery_is_buried_counting_only_the_attempts_that_ran() {
        let reason = "no handler for job \"x\" version 2".to_owned();
        assert_eq!(
            disposition(Outcome::Unrunnable(reason.clone()), 1, 3, DELAY),
            Disposition::Bury {
                cause: BuryCause::Unrunnable,
                error: reason,
                attempts: 0,
            }
        );
        let d = disposition(Outcome::Unrunnable("undecodable".into()), 0, 1, DELAY);
        assert!(matches!(d, Disposition::Bury { attempts: 0, .. }), "{d:?}");
    }
}
