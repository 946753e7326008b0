//! Prometheus metrics: tool calls by tenant, tool and outcome, call durations, the other MCP
//! requests (resources, prompts, completions, skills) by method and outcome, Taiga request
//! durations and statuses, quota refusals, rate-limited logins, traps and refused unknown tools.
//! Every per-call series carries a `tenant` label (`default` without a tenants file).
//!
//! The exposition is `metrics-exporter-prometheus`'s, which escapes label values as the text
//! format requires. Label values come from bounded sets only, so that series cannot grow with
//! what clients send: tenant ids (checked when the tenants file is read), tool names from the
//! catalogue (an unknown tool is refused before anything is recorded, see [`crate::mcp`]),
//! the MCP methods the server answers, outcome codes and HTTP statuses.

use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::store::StoreUsage;

/// Upper bounds of the duration histograms, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

const METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

const TOOL_CALLS: &str = "taiga_mcp_tool_calls_total";
const TOOL_CALL_DURATION: &str = "taiga_mcp_tool_call_duration_seconds";
const REQUESTS: &str = "taiga_mcp_requests_total";
const REQUEST_DURATION: &str = "taiga_mcp_request_duration_seconds";
const TAIGA_REQUESTS: &str = "taiga_mcp_taiga_requests_total";
const TAIGA_REQUEST_DURATION: &str = "taiga_mcp_taiga_request_duration_seconds";
const QUOTA_REFUSALS: &str = "taiga_mcp_quota_refusals_total";
const LOGIN_RATE_LIMITED: &str = "taiga_mcp_login_rate_limited_total";
const SANDBOX_TRAPS: &str = "taiga_mcp_sandbox_traps_total";
const UNKNOWN_TOOLS: &str = "taiga_mcp_unknown_tool_calls_total";
const SIGN_IN_LINKS: &str = "taiga_mcp_sign_in_links_total";
const HTTP_REFUSALS: &str = "taiga_mcp_http_refusals_total";
const ACTIVE_SESSIONS: &str = "taiga_mcp_active_sessions";
const STORE_ENTRIES: &str = "taiga_mcp_session_store_entries";
const STORE_BYTES: &str = "taiga_mcp_session_store_bytes";

const COUNTERS: [(&str, &str); 9] = [
    (TOOL_CALLS, "Tool calls that ran, by tenant, tool and outcome code."),
    (
        REQUESTS,
        "Resources, prompts, completion and skills requests, by tenant, method and outcome (OK or the JSON-RPC code).",
    ),
    (TAIGA_REQUESTS, "Requests to Taiga by tenant and HTTP status."),
    (QUOTA_REFUSALS, "Calls refused by their tenant's quota, by quota."),
    (LOGIN_RATE_LIMITED, "Logins refused by the login rate limit."),
    (SANDBOX_TRAPS, "Calls whose sandbox trapped and was discarded."),
    (SIGN_IN_LINKS, "Sign-in page links opened, by tenant."),
    (
        HTTP_REFUSALS,
        "Connections and MCP sessions the HTTP transport refused, by the setting that capped them.",
    ),
    (
        UNKNOWN_TOOLS,
        "Calls naming a tool the catalogue does not have, refused.",
    ),
];
const HISTOGRAMS: [(&str, &str); 3] = [
    (TOOL_CALL_DURATION, "Tool call duration."),
    (
        REQUEST_DURATION,
        "Duration of resources, prompts, completion and skills requests.",
    ),
    (TAIGA_REQUEST_DURATION, "Duration of requests to Taiga."),
];
const GAUGES: [(&str, &str); 3] = [
    (
        ACTIVE_SESSIONS,
        "Sessions in the in-memory store (expired ones until the next sweep).",
    ),
    (
        STORE_ENTRIES,
        "Entries in the in-memory store: sessions, session indexes, login counters.",
    ),
    (
        STORE_BYTES,
        "Bytes of the in-memory store's namespaces, keys and values.",
    ),
];

/// How often recorded histogram samples are folded into their buckets between scrapes, so that
/// a process nobody scrapes does not hold every sample.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The process's metrics.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        for (name, help) in COUNTERS {
            recorder.describe_counter(name.into(), None, help.into());
        }
        for (name, help) in HISTOGRAMS {
            recorder.describe_histogram(name.into(), None, help.into());
        }
        for (name, help) in GAUGES {
            recorder.describe_gauge(name.into(), None, help.into());
        }
        let handle = recorder.handle();
        Self { recorder, handle }
    }
}

fn labels(pairs: &[(&'static str, &str)]) -> Vec<Label> {
    pairs
        .iter()
        .map(|(name, value)| Label::new(*name, (*value).to_owned()))
        .collect()
}

impl Metrics {
    fn counter(&self, name: &'static str, pairs: &[(&'static str, &str)]) -> Counter {
        self.recorder
            .register_counter(&Key::from_parts(name, labels(pairs)), &METADATA)
    }

    fn histogram(&self, name: &'static str, pairs: &[(&'static str, &str)]) -> Histogram {
        self.recorder
            .register_histogram(&Key::from_parts(name, labels(pairs)), &METADATA)
    }

    fn gauge(&self, name: &'static str) -> Gauge {
        self.recorder.register_gauge(&Key::from_name(name), &METADATA)
    }

    /// Records one tool call that ran; `tool` is a catalogue name.
    pub fn tool_call(&self, tenant: &str, tool: &str, outcome: &str, duration: Duration) {
        self.counter(TOOL_CALLS, &[("tenant", tenant), ("tool", tool), ("outcome", outcome)])
            .increment(1);
        self.histogram(TOOL_CALL_DURATION, &[("tenant", tenant), ("tool", tool)])
            .record(duration.as_secs_f64());
        if tool == "login" && outcome == taiga_tools::ErrorCode::RateLimited.as_str() {
            self.counter(LOGIN_RATE_LIMITED, &[("tenant", tenant)]).increment(1);
        }
    }

    /// Records one request other than a tool call; `method` is one the server answers.
    pub fn request(&self, tenant: &str, method: &'static str, outcome: &str, duration: Duration) {
        self.counter(
            REQUESTS,
            &[("tenant", tenant), ("method", method), ("outcome", outcome)],
        )
        .increment(1);
        self.histogram(REQUEST_DURATION, &[("tenant", tenant), ("method", method)])
            .record(duration.as_secs_f64());
    }

    /// Records one Taiga request (`status` is the HTTP status, or `error`).
    pub fn taiga_request(&self, tenant: &str, status: &str, duration: Duration) {
        self.counter(TAIGA_REQUESTS, &[("tenant", tenant), ("status", status)])
            .increment(1);
        self.histogram(TAIGA_REQUEST_DURATION, &[("tenant", tenant)])
            .record(duration.as_secs_f64());
    }

    /// Records a call its tenant's `quota` refused before it reached the sandbox.
    pub fn quota_refusal(&self, tenant: &str, quota: &'static str) {
        self.counter(QUOTA_REFUSALS, &[("tenant", tenant), ("quota", quota)])
            .increment(1);
    }

    /// Records a sign-in page link opened.
    pub fn sign_in_link(&self, tenant: &str) {
        self.counter(SIGN_IN_LINKS, &[("tenant", tenant)]).increment(1);
    }

    /// Records a connection or an MCP session refused by the cap `limit` (a setting's name).
    pub fn http_refusal(&self, limit: &'static str) {
        self.counter(HTTP_REFUSALS, &[("limit", limit)]).increment(1);
    }

    /// Records a sandbox trap.
    pub fn trap(&self, tenant: &str) {
        self.counter(SANDBOX_TRAPS, &[("tenant", tenant)]).increment(1);
    }

    /// Records a call naming a tool that does not exist (the name itself is not kept).
    pub fn unknown_tool(&self, tenant: &str) {
        self.counter(UNKNOWN_TOOLS, &[("tenant", tenant)]).increment(1);
    }

    /// Folds recorded histogram samples into their buckets; see [`UPKEEP_INTERVAL`].
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// The text exposition; `store` is the in-memory store's usage when the store knows it.
    pub fn render(&self, store: Option<StoreUsage>) -> String {
        if let Some(store) = store {
            for (name, value) in [
                (ACTIVE_SESSIONS, store.sessions),
                (STORE_ENTRIES, store.entries),
                (STORE_BYTES, store.bytes),
            ] {
                self.gauge(name).set(value as f64);
            }
        }
        self.handle.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let metrics = Metrics::default();
        metrics.tool_call("acme", "login", "RATE_LIMITED", Duration::from_millis(3));
        metrics.tool_call("acme", "login", "OK", Duration::from_millis(30));
        metrics.tool_call("globex", "login", "OK", Duration::from_millis(30));
        metrics.taiga_request("acme", "200", Duration::from_millis(2));
        metrics.quota_refusal("globex", "calls_per_minute");
        metrics.trap("acme");
        metrics.unknown_tool("acme");
        metrics.sign_in_link("acme");
        metrics.http_refusal("HTTP_MAX_CONNECTIONS_PER_CLIENT");
        let text = metrics.render(Some(StoreUsage {
            sessions: 4,
            entries: 9,
            bytes: 2048,
        }));
        assert!(text.contains("taiga_mcp_tool_calls_total{tenant=\"acme\",tool=\"login\",outcome=\"OK\"} 1"));
        assert!(text.contains("taiga_mcp_tool_calls_total{tenant=\"globex\",tool=\"login\",outcome=\"OK\"} 1"));
        assert!(
            text.contains("taiga_mcp_tool_call_duration_seconds_bucket{tenant=\"acme\",tool=\"login\",le=\"0.005\"} 1"),
            "{text}"
        );
        assert!(text.contains("taiga_mcp_tool_call_duration_seconds_count{tenant=\"acme\",tool=\"login\"} 2"));
        assert!(text.contains("taiga_mcp_taiga_requests_total{tenant=\"acme\",status=\"200\"} 1"));
        assert!(text.contains("taiga_mcp_taiga_request_duration_seconds_count{tenant=\"acme\"} 1"));
        assert!(text.contains("taiga_mcp_quota_refusals_total{tenant=\"globex\",quota=\"calls_per_minute\"} 1"));
        assert!(text.contains("taiga_mcp_login_rate_limited_total{tenant=\"acme\"} 1"));
        assert!(text.contains("taiga_mcp_sandbox_traps_total{tenant=\"acme\"} 1"));
        assert!(text.contains("taiga_mcp_unknown_tool_calls_total{tenant=\"acme\"} 1"));
        assert!(text.contains("taiga_mcp_http_refusals_total{limit=\"HTTP_MAX_CONNECTIONS_PER_CLIENT\"} 1"));
        assert!(text.contains("# HELP taiga_mcp_tool_calls_total Tool calls that ran"));
        assert!(text.contains("# TYPE taiga_mcp_tool_call_duration_seconds histogram"));
        assert!(text.contains("taiga_mcp_active_sessions 4"));
        assert!(text.contains("taiga_mcp_session_store_entries 9"));
        assert!(text.contains("taiga_mcp_session_store_bytes 2048"));
    }

    /// Label values are escaped as the text format requires: a quote, a backslash or a newline in
    /// one cannot end the value or the line.
    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::default();
        metrics.tool_call("acme", "x\"} 1\nforged_total 9\n", "OK", Duration::from_millis(1));
        let text = metrics.render(None);
        assert!(!text.lines().any(|line| line.starts_with("forged_total")), "{text}");
        assert!(text.contains(r#"tool="x\"} 1\nforged_total 9\n""#), "{text}");
    }
}
