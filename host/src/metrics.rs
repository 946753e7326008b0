//! Prometheus metrics, rendered by hand in the text exposition format: tool calls by tenant, tool
//! and outcome, call durations, Taiga request durations and statuses, quota refusals, rate-limited
//! logins and traps. Every per-call series carries a `tenant` label (`default` without a tenants file).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::store::StoreUsage;

/// Upper bounds of the duration histograms, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let separator = if labels.is_empty() { "" } else { "," };
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter()) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{separator}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{separator}le=\"+Inf\"}} {}", self.count);
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Inner {
    calls: BTreeMap<(String, String, String), u64>,
    call_durations: BTreeMap<(String, String), Histogram>,
    taiga_requests: BTreeMap<(String, String), u64>,
    taiga_durations: BTreeMap<String, Histogram>,
    quota_refusals: BTreeMap<(String, &'static str), u64>,
    traps: BTreeMap<String, u64>,
}

/// The process's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records one tool call that ran.
    pub fn tool_call(&self, tenant: &str, tool: &str, outcome: &str, duration: Duration) {
        let mut inner = self.lock();
        *inner
            .calls
            .entry((tenant.to_owned(), tool.to_owned(), outcome.to_owned()))
            .or_default() += 1;
        inner
            .call_durations
            .entry((tenant.to_owned(), tool.to_owned()))
            .or_default()
            .observe(duration.as_secs_f64());
    }

    /// Records one Taiga request (`status` is the HTTP status, or `error`).
    pub fn taiga_request(&self, tenant: &str, status: &str, duration: Duration) {
        let mut inner = self.lock();
        *inner
            .taiga_requests
            .entry((tenant.to_owned(), status.to_owned()))
            .or_default() += 1;
        inner
            .taiga_durations
            .entry(tenant.to_owned())
            .or_default()
            .observe(duration.as_secs_f64());
    }

    /// Records a call its tenant's `quota` refused before it reached the sandbox.
    pub fn quota_refusal(&self, tenant: &str, quota: &'static str) {
        *self
            .lock()
            .quota_refusals
            .entry((tenant.to_owned(), quota))
            .or_default() += 1;
    }

    /// Records a sandbox trap.
    pub fn trap(&self, tenant: &str) {
        *self.lock().traps.entry(tenant.to_owned()).or_default() += 1;
    }

    /// The text exposition; `sessions` is the live session count when the store knows it.
    pub fn render(&self, store: Option<StoreUsage>) -> String {
        let inner = self.lock();
        let mut out = String::new();
        header(
            &mut out,
            "tool_calls_total",
            "counter",
            "Tool calls that ran, by tenant, tool and outcome code.",
        );
        for ((tenant, tool, outcome), count) in &inner.calls {
            let _ = writeln!(
                out,
                "taiga_mcp_tool_calls_total{{tenant=\"{tenant}\",tool=\"{tool}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        header(
            &mut out,
            "tool_call_duration_seconds",
            "histogram",
            "Tool call duration.",
        );
        for ((tenant, tool), histogram) in &inner.call_durations {
            histogram.render(
                &mut out,
                "taiga_mcp_tool_call_duration_seconds",
                &format!("tenant=\"{tenant}\",tool=\"{tool}\""),
            );
        }
        header(
            &mut out,
            "taiga_requests_total",
            "counter",
            "Requests to Taiga by tenant and HTTP status.",
        );
        for ((tenant, status), count) in &inner.taiga_requests {
            let _ = writeln!(
                out,
                "taiga_mcp_taiga_requests_total{{tenant=\"{tenant}\",status=\"{status}\"}} {count}"
            );
        }
        header(
            &mut out,
            "taiga_request_duration_seconds",
            "histogram",
            "Duration of requests to Taiga.",
        );
        for (tenant, histogram) in &inner.taiga_durations {
            histogram.render(
                &mut out,
                "taiga_mcp_taiga_request_duration_seconds",
                &format!("tenant=\"{tenant}\""),
            );
        }
        header(
            &mut out,
            "quota_refusals_total",
            "counter",
            "Calls refused by their tenant's quota, by quota.",
        );
        for ((tenant, quota), count) in &inner.quota_refusals {
            let _ = writeln!(
                out,
                "taiga_mcp_quota_refusals_total{{tenant=\"{tenant}\",quota=\"{quota}\"}} {count}"
            );
        }
        let mut limited: BTreeMap<&str, u64> = BTreeMap::new();
        for ((tenant, tool, outcome), count) in &inner.calls {
            if tool == "login" && outcome == "RATE_LIMITED" {
                *limited.entry(tenant).or_default() += count;
            }
        }
        header(
            &mut out,
            "login_rate_limited_total",
            "counter",
            "Logins refused by the login rate limit.",
        );
        for (tenant, count) in limited {
            let _ = writeln!(out, "taiga_mcp_login_rate_limited_total{{tenant=\"{tenant}\"}} {count}");
        }
        header(
            &mut out,
            "sandbox_traps_total",
            "counter",
            "Calls whose sandbox trapped and was discarded.",
        );
        for (tenant, count) in &inner.traps {
            let _ = writeln!(out, "taiga_mcp_sandbox_traps_total{{tenant=\"{tenant}\"}} {count}");
        }
        if let Some(store) = store {
            let gauges = [
                (
                    "active_sessions",
                    "Live sessions in the in-memory store.",
                    store.sessions,
                ),
                (
                    "session_store_entries",
                    "Entries in the in-memory store: sessions, session indexes, login counters.",
                    store.entries,
                ),
                (
                    "session_store_bytes",
                    "Bytes of the in-memory store's namespaces, keys and values.",
                    store.bytes,
                ),
            ];
            for (name, help, value) in gauges {
                header(&mut out, name, "gauge", help);
                let _ = writeln!(out, "taiga_mcp_{name} {value}");
            }
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP taiga_mcp_{name} {help}");
    let _ = writeln!(out, "# TYPE taiga_mcp_{name} {kind}");
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
        let text = metrics.render(Some(StoreUsage {
            sessions: 4,
            entries: 9,
            bytes: 2048,
        }));
        assert!(text.contains("taiga_mcp_tool_calls_total{tenant=\"acme\",tool=\"login\",outcome=\"OK\"} 1"));
        assert!(text.contains("taiga_mcp_tool_calls_total{tenant=\"globex\",tool=\"login\",outcome=\"OK\"} 1"));
        assert!(
            text.contains("taiga_mcp_tool_call_duration_seconds_bucket{tenant=\"acme\",tool=\"login\",le=\"0.005\"} 1")
        );
        assert!(text.contains("taiga_mcp_tool_call_duration_seconds_count{tenant=\"acme\",tool=\"login\"} 2"));
        assert!(text.contains("taiga_mcp_taiga_requests_total{tenant=\"acme\",status=\"200\"} 1"));
        assert!(text.contains("taiga_mcp_taiga_request_duration_seconds_count{tenant=\"acme\"} 1"));
        assert!(text.contains("taiga_mcp_quota_refusals_total{tenant=\"globex\",quota=\"calls_per_minute\"} 1"));
        assert!(text.contains("taiga_mcp_login_rate_limited_total{tenant=\"acme\"} 1"));
        assert!(text.contains("taiga_mcp_sandbox_traps_total{tenant=\"acme\"} 1"));
        assert!(text.contains("taiga_mcp_active_sessions 4"));
        assert!(text.contains("taiga_mcp_session_store_entries 9"));
        assert!(text.contains("taiga_mcp_session_store_bytes 2048"));
    }
}
