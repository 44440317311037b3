//! A trace that continues from a request to the jobs it enqueues: the enqueuer writes the
//! current Sentry trace headers into the job's envelope, the worker starts the job's
//! transaction from them.

use std::collections::BTreeMap;

/// The current transaction's propagation headers (`sentry-trace`, `baggage`), or nothing when
/// Sentry is off or no transaction is running (the scheduler's jobs each start a trace).
pub fn current_headers() -> BTreeMap<String, String> {
    let hub = sentry::Hub::current();
    if hub.client().is_none_or(|c| !c.is_enabled()) {
        return BTreeMap::new();
    }
    hub.configure_scope(|scope| {
        if scope.get_span().is_none() {
            return BTreeMap::new();
        }
        scope
            .iter_trace_propagation_headers()
            .map(|(name, value)| (name.to_owned(), value))
            .collect()
    })
}

/// A transaction named `name` continuing the trace in `headers` (a new trace when they hold
/// none).
pub fn continue_transaction(
    name: &str,
    op: &str,
    headers: &BTreeMap<String, String>,
) -> sentry::TransactionContext {
    sentry::TransactionContext::continue_from_headers(
        name,
        op,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
}
