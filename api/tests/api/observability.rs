//! `deploy/observability/` names only metrics the processes export: every `keel_*` name in
//! the Grafana dashboard, the alert rules, their unit tests and the scrape config is one the
//! code of keel-api, keel-worker, keel-scheduler or keel-shared registers. (The rules
//! themselves are checked by `promtool` in `scripts/check-observability.sh`.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const OBSERVABILITY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/observability");

/// The suffixes Prometheus gives a histogram's series.
const HISTOGRAM_SUFFIXES: [&str; 3] = ["_bucket", "_sum", "_count"];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Every `"keel_..."` string literal in the processes' source (not the test harness): the
/// names given to `metrics::counter!`, `gauge!` and `histogram!`.
fn exported() -> BTreeSet<String> {
    let mut sources = Vec::new();
    for krate in ["api", "shared", "worker", "scheduler"] {
        files(&Path::new(ROOT).join(krate).join("src"), &mut sources);
    }
    let mut names = BTreeSet::new();
    for path in sources {
        if path.extension().is_none_or(|e| e != "rs")
            || path.components().any(|c| c.as_os_str() == "testing")
        {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("source");
        for (at, _) in source.match_indices("\"keel_") {
            let name: String = source[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if source[at + 1 + name.len()..].starts_with('"') {
                names.insert(name);
            }
        }
    }
    names
}

/// Every `keel_*` identifier in `text`.
fn referenced(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in text.match_indices("keel_") {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            continue;
        }
        let name: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        names.insert(name);
    }
    names
}

#[test]
fn the_dashboard_and_the_alerts_name_only_exported_metrics() {
    let exported = exported();
    for name in [
        "keel_api_requests_total",
        "keel_jobs_total",
        "keel_scheduler_slots_total",
        "keel_pool_waiting",
    ] {
        assert!(
            exported.contains(name),
            "{name} not found in the code: {exported:?}"
        );
    }
    let mut observability = Vec::new();
    files(Path::new(OBSERVABILITY), &mut observability);
    let mut checked = 0;
    for path in observability.iter().filter(|p| {
        p.extension()
            .is_some_and(|e| e == "json" || e == "yml" || e == "yaml")
    }) {
        let text = std::fs::read_to_string(path).expect("file");
        for name in referenced(&text) {
            let base = HISTOGRAM_SUFFIXES
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|b| exported.contains(*b)));
            assert!(
                exported.contains(&name) || base.is_some(),
                "{} uses {name}, which no Keel process exports",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked > 20,
        "suspiciously few metric names checked: {checked}"
    );
}

/// Every query of every panel, rows' panels included.
fn exprs(panels: &[Value], out: &mut Vec<String>) {
    for panel in panels {
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push(target["expr"].as_str().expect("expr").to_owned());
        }
        exprs(panel["panels"].as_array().map_or(&[], Vec::as_slice), out);
    }
}

#[test]
fn the_dashboard_covers_api_jobs_scheduler_and_pools() {
    let text = std::fs::read_to_string(Path::new(OBSERVABILITY).join("grafana-dashboard.json"))
        .expect("dashboard");
    let dashboard: Value = serde_json::from_str(&text).expect("valid JSON");
    let mut queries = Vec::new();
    exprs(
        dashboard["panels"].as_array().expect("panels"),
        &mut queries,
    );
    let all = queries.join("\n");
    for metric in [
        "keel_api_requests_total",
        "keel_api_request_duration_seconds_bucket",
        "keel_queue_depth",
        "keel_jobs_total",
        "keel_job_duration_seconds_bucket",
        "keel_scheduler_lag_seconds_bucket",
        "keel_pool_waiting",
        "keel_ready",
    ] {
        assert!(all.contains(metric), "no panel shows {metric}");
    }
    // These metrics carry a `job` label of their own (the job type), which Prometheus keeps
    // as `exported_job` because `job` is the scrape job's.
    let own_job_label = [
        "keel_jobs_total",
        "keel_job_duration_seconds",
        "keel_jobs_enqueued_total",
    ];
    for query in queries
        .iter()
        .filter(|q| own_job_label.iter().any(|m| q.contains(m)))
    {
        let bare_job = query.match_indices("job").any(|(at, _)| {
            let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
            !query[..at].ends_with(word) && !query[at + 3..].starts_with(word)
        });
        assert!(!bare_job, "use exported_job, not job, in: {query}");
    }
}
