//! Sentry in the worker: each job runs on a hub of its own, inside a transaction that
//! continues the trace of whatever enqueued it (the envelope's `trace`), with the job's name,
//! id, queue and attempt as tags. A job that goes to the dead set is logged at `error` level
//! by the runtime, and Sentry's tracing layer makes that line the event; retries are warnings
//! (breadcrumbs). A panic in a handler is reported by the panic integration on the job's hub.

use std::future::Future;
use std::sync::Arc;

use keel_shared::jobs::Delivery;
use keel_shared::telemetry::trace;
use sentry::{Hub, SentryFutureExt};

/// Runs `process(delivery)` in the job's Sentry scope and transaction; with Sentry off, just
/// runs it (no envelope parsing, no allocation).
pub async fn in_job_scope<F, Fut>(delivery: Delivery, process: F)
where
    F: FnOnce(Delivery) -> Fut,
    Fut: Future<Output = ()>,
{
    if Hub::current().client().is_none_or(|c| !c.is_enabled()) {
        return process(delivery).await;
    }
    let hub = Arc::new(Hub::new_from_top(Hub::current()));
    let envelope = delivery.envelope().ok();
    let name = envelope
        .as_ref()
        .map_or("(undecodable)", |e| e.name.as_str());
    let trace_headers = envelope
        .as_ref()
        .map(|e| e.trace.clone())
        .unwrap_or_default();
    let transaction = hub.start_transaction(trace::continue_transaction(
        &format!("job {name}"),
        "queue.process",
        &trace_headers,
    ));
    let mut tags = vec![
        ("job.name", name.to_owned()),
        ("job.queue", delivery.queue.clone()),
    ];
    if let Some(e) = &envelope {
        tags.push(("job.id", e.id.clone()));
        tags.push(("job.attempt", e.attempt.to_string()));
    }
    hub.configure_scope(|scope| {
        scope.set_span(Some(transaction.clone().into()));
        for (name, value) in &tags {
            scope.set_tag(name, value);
        }
    });
    // Events take the scope's tags; the transaction needs its own.
    for (name, value) in tags {
        transaction.set_tag(name, value);
    }
    process(delivery).bind_hub(Arc::clone(&hub)).await;
    transaction.finish();
}
