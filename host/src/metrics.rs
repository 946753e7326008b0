//! Prometheus metrics, rendered by hand in the text exposition format: tool calls by tool and
//! outcome, call durations, Taiga request durations and statuses, rate-limited logins and traps.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

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
    calls: BTreeMap<(String, String), u64>,
    call_durations: BTreeMap<String, Histogram>,
    taiga_requests: BTreeMap<String, u64>,
    taiga_durations: Histogram,
    traps: u64,
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

    /// Records one tool call.
    pub fn tool_call(&self, tool: &str, outcome: &str, duration: Duration) {
        let mut inner = self.lock();
        *inner.calls.entry((tool.to_owned(), outcome.to_owned())).or_default() += 1;
        inner
            .call_durations
            .entry(tool.to_owned())
            .or_default()
            .observe(duration.as_secs_f64());
    }

    /// Records one Taiga request (`status` is the HTTP status, or `error`).
    pub fn taiga_request(&self, status: &str, duration: Duration) {
        let mut inner = self.lock();
        *inner.taiga_requests.entry(status.to_owned()).or_default() += 1;
        inner.taiga_durations.observe(duration.as_secs_f64());
    }

    /// Records a sandbox trap.
    pub fn trap(&self) {
        self.lock().traps += 1;
    }

    /// The text exposition; `sessions` is the live session count when the store knows it.
    pub fn render(&self, sessions: Option<u64>) -> String {
        let inner = self.lock();
        let mut out = String::new();
        out.push_str("# HELP taiga_mcp_tool_calls_total Tool calls by tool and outcome code.\n");
        out.push_str("# TYPE taiga_mcp_tool_calls_total counter\n");
        for ((tool, outcome), count) in &inner.calls {
            let _ = writeln!(
                out,
                "taiga_mcp_tool_calls_total{{tool=\"{tool}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        out.push_str("# HELP taiga_mcp_tool_call_duration_seconds Tool call duration.\n");
        out.push_str("# TYPE taiga_mcp_tool_call_duration_seconds histogram\n");
        for (tool, histogram) in &inner.call_durations {
            histogram.render(
                &mut out,
                "taiga_mcp_tool_call_duration_seconds",
                &format!("tool=\"{tool}\""),
            );
        }
        out.push_str("# HELP taiga_mcp_taiga_requests_total Requests to Taiga by HTTP status.\n");
        out.push_str("# TYPE taiga_mcp_taiga_requests_total counter\n");
        for (status, count) in &inner.taiga_requests {
            let _ = writeln!(out, "taiga_mcp_taiga_requests_total{{status=\"{status}\"}} {count}");
        }
        out.push_str("# HELP taiga_mcp_taiga_request_duration_seconds Duration of requests to Taiga.\n");
        out.push_str("# TYPE taiga_mcp_taiga_request_duration_seconds histogram\n");
        inner
            .taiga_durations
            .render(&mut out, "taiga_mcp_taiga_request_duration_seconds", "");
        let limited: u64 = inner
            .calls
            .iter()
            .filter(|((tool, outcome), _)| tool == "login" && outcome == "RATE_LIMITED")
            .map(|(_, count)| count)
            .sum();
        out.push_str("# HELP taiga_mcp_login_rate_limited_total Logins refused by the rate limit.\n");
        out.push_str("# TYPE taiga_mcp_login_rate_limited_total counter\n");
        let _ = writeln!(out, "taiga_mcp_login_rate_limited_total {limited}");
        out.push_str("# HELP taiga_mcp_sandbox_traps_total Calls whose sandbox trapped and was discarded.\n");
        out.push_str("# TYPE taiga_mcp_sandbox_traps_total counter\n");
        let _ = writeln!(out, "taiga_mcp_sandbox_traps_total {}", inner.traps);
        if let Some(sessions) = sessions {
            out.push_str("# HELP taiga_mcp_active_sessions Live sessions in the in-memory store.\n");
            out.push_str("# TYPE taiga_mcp_active_sessions gauge\n");
            let _ = writeln!(out, "taiga_mcp_active_sessions {sessions}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let metrics = Metrics::default();
        metrics.tool_call("login", "RATE_LIMITED", Duration::from_millis(3));
        metrics.tool_call("login", "OK", Duration::from_millis(30));
        metrics.taiga_request("200", Duration::from_millis(2));
        metrics.trap();
        let text = metrics.render(Some(4));
        assert!(text.contains("taiga_mcp_tool_calls_total{tool=\"login\",outcome=\"OK\"} 1"));
        assert!(text.contains("taiga_mcp_tool_call_duration_seconds_bucket{tool=\"login\",le=\"0.005\"} 1"));
        assert!(text.contains("taiga_mcp_tool_call_duration_seconds_count{tool=\"login\"} 2"));
        assert!(text.contains("taiga_mcp_taiga_requests_total{status=\"200\"} 1"));
        assert!(text.contains("taiga_mcp_login_rate_limited_total 1"));
        assert!(text.contains("taiga_mcp_sandbox_traps_total 1"));
        assert!(text.contains("taiga_mcp_active_sessions 4"));
    }
}
