//! Keel's worker as a library: the job registry (every job type in one list), the runtime
//! that fetches, runs, retries and acknowledges jobs, and the operator commands.

pub mod cli;
pub mod context;
pub mod jobs;
pub mod metrics;
pub mod observe;
pub mod runtime;
