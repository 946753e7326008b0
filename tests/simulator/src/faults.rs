//! Fault injection and Taiga's throttling, switched on per route prefix or globally, from tests
//! (`Simulator::inject`) or over the control API (`POST /__sim/faults`, `POST /__sim/throttle`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::respond;

/// One kind of misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Wait this long, then answer normally.
    Latency {
        /// Delay in milliseconds.
        ms: u64,
    },
    /// Answer with this status (500, 502, 503...) and an HTML error page.
    Status {
        /// HTTP status.
        status: u16,
    },
    /// Answer 429 as Taiga's throttle does, with `X-Throttle-Wait-Seconds`.
    Throttle {
        /// The advertised wait.
        wait_seconds: u64,
    },
    /// Answer 200 with a JSON body cut in the middle.
    MalformedJson,
    /// Promise a longer body than is sent, then close the connection.
    CloseMidBody,
    /// Send a JSON body that never ends.
    EndlessBody,
    /// Send a well-formed JSON array of this many bytes.
    Oversized {
        /// Body size in bytes.
        bytes: u64,
    },
    /// Answer 302 with this `Location`.
    Redirect {
        /// Where to.
        location: String,
    },
}

/// A fault and where it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Only paths starting with this (e.g. `/api/v1/projects`); every Taiga path when absent.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// The misbehaviour.
    pub fault: Fault,
    /// How many requests it applies to; forever when absent.
    #[serde(default)]
    pub times: Option<u32>,
}

/// Taiga's throttle scopes (per minute), off when `None`, as on the recorded throttle instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttling {
    /// Failed logins (400/401 from `/auth`) per client before every login answers 429.
    #[serde(default)]
    pub login_fail: Option<u32>,
    /// GETs by authenticated users.
    #[serde(default)]
    pub user_read: Option<u32>,
    /// GETs by anonymous clients.
    #[serde(default)]
    pub anon_read: Option<u32>,
}

/// The fault and throttle state of one simulator.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<FaultRule>,
    /// Throttle configuration.
    pub throttling: Throttling,
    counters: HashMap<&'static str, Vec<Instant>>,
}

impl Faults {
    /// Adds a rule; the newest matching rule wins.
    pub fn inject(&mut self, rule: FaultRule) {
        self.rules.push(rule);
    }

    /// Removes every rule and throttle.
    pub fn clear(&mut self) {
        self.rules.clear();
        self.throttling = Throttling::default();
        self.counters.clear();
    }

    /// The fault for a request path, consuming one use of its rule.
    pub fn take(&mut self, path: &str) -> Option<Fault> {
        let index = self.rules.iter().rposition(|rule| {
            rule.path_prefix
                .as_deref()
                .is_none_or(|prefix| path.starts_with(prefix))
        })?;
        let rule = &mut self.rules[index];
        let fault = rule.fault.clone();
        if let Some(times) = rule.times.as_mut() {
            *times -= 1;
            if *times == 0 {
                self.rules.remove(index);
            }
        }
        Some(fault)
    }

    fn recent(&mut self, scope: &'static str) -> &mut Vec<Instant> {
        let entries = self.counters.entry(scope).or_default();
        entries.retain(|at| at.elapsed() < Duration::from_secs(60));
        entries
    }

    /// Whether a request in `scope` is over its limit now (counting it when it is not).
    pub fn throttled(&mut self, scope: &'static str, limit: Option<u32>, count_it: bool) -> bool {
        let Some(limit) = limit else {
            return false;
        };
        let entries = self.recent(scope);
        if entries.len() >= limit as usize {
            return true;
        }
        if count_it {
            entries.push(Instant::now());
        }
        false
    }

    /// Records one failed login.
    pub fn login_failed(&mut self) {
        if self.throttling.login_fail.is_some() {
            self.recent("login-fail").push(Instant::now());
        }
    }
}

/// Taiga's 429 answer.
pub fn throttled_response(wait_seconds: u64) -> Response {
    let mut response = respond::api_error(
        StatusCode::TOO_MANY_REQUESTS,
        &format!(
            "Request was throttled.Expected available in {} seconds.",
            wait_seconds.saturating_sub(1)
        ),
        "Throttled",
    );
    if let Ok(value) = HeaderValue::from_str(&wait_seconds.to_string()) {
        response.headers_mut().insert("x-throttle-wait-seconds", value);
    }
    response
}

fn chunks(
    mut next: impl FnMut(u64) -> Option<Result<Bytes, std::io::Error>> + Send + 'static,
    delay: Duration,
) -> Body {
    let stream = futures_util::stream::unfold(0u64, move |index| {
        let item = next(index);
        async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            item.map(|item| (item, index + 1))
        }
    });
    Body::from_stream(stream)
}

/// The response a fault produces instead of the real one; `None` for latency, which delays only.
pub async fn respond_with(fault: &Fault) -> Option<Response> {
    let json = |body: Body, length: Option<u64>| {
        let mut response = (StatusCode::OK, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(length) = length.and_then(|l| HeaderValue::from_str(&l.to_string()).ok()) {
            response.headers_mut().insert(header::CONTENT_LENGTH, length);
        }
        response
    };
    Some(match fault {
        Fault::Latency { ms } => {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            return None;
        }
        Fault::Status { status } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (status, format!("<h1>Server Error ({})</h1>", status.as_u16())).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            response
        }
        Fault::Throttle { wait_seconds } => throttled_response(*wait_seconds),
        Fault::Redirect { location } => {
            let mut response = StatusCode::FOUND.into_response();
            if let Ok(location) = HeaderValue::from_str(location) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Fault::MalformedJson => json(Body::from(r#"{"id": 1, "name": "cut here"#), None),
        Fault::CloseMidBody => json(
            chunks(
                |index| match index {
                    0 => Some(Ok(Bytes::from_static(br#"[{"id": 1, "name": "#))),
                    _ => Some(Err(std::io::Error::other("connection closed mid-body"))),
                },
                // A pause lets the headers and the first bytes leave before the connection drops.
                Duration::from_millis(50),
            ),
            Some(4096),
        ),
        Fault::EndlessBody => json(
            chunks(
                |index| {
                    Some(Ok(Bytes::from(if index == 0 {
                        "[".to_owned()
                    } else {
                        format!("{{\"id\": {index}}},")
                    })))
                },
                Duration::from_millis(20),
            ),
            None,
        ),
        Fault::Oversized { bytes } => {
            let element = br#"{"id": 1, "subject": "padding padding padding padding padding"},"#;
            let total = *bytes;
            let chunk: Vec<u8> = element.iter().copied().cycle().take(element.len() * 1024).collect();
            let chunk = Bytes::from(chunk);
            let per_chunk = chunk.len() as u64;
            let count = total.div_ceil(per_chunk);
            json(
                chunks(
                    move |index| match index {
                        0 => Some(Ok(Bytes::from_static(b"["))),
                        i if i <= count => Some(Ok(chunk.clone())),
                        i if i == count + 1 => Some(Ok(Bytes::from_static(br#"{"id": 0}]"#))),
                        _ => None,
                    },
                    Duration::ZERO,
                ),
                None,
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: Option<&str>, times: Option<u32>) -> FaultRule {
        FaultRule {
            path_prefix: prefix.map(str::to_owned),
            fault: Fault::Status { status: 503 },
            times,
        }
    }

    #[test]
    fn rules_match_by_prefix_and_run_out() {
        let mut faults = Faults::default();
        faults.inject(rule(Some("/api/v1/projects"), Some(2)));
        assert!(faults.take("/api/v1/auth").is_none());
        assert!(faults.take("/api/v1/projects/1").is_some());
        assert!(faults.take("/api/v1/projects").is_some());
        assert!(faults.take("/api/v1/projects").is_none());
        faults.inject(rule(None, None));
        assert!(faults.take("/anything").is_some());
        assert!(faults.take("/anything").is_some());
        faults.clear();
        assert!(faults.take("/anything").is_none());
    }

    #[test]
    fn throttles_count_within_a_minute() {
        let mut faults = Faults::default();
        assert!(!faults.throttled("user-read", Some(2), true));
        assert!(!faults.throttled("user-read", Some(2), true));
        assert!(faults.throttled("user-read", Some(2), true));
        assert!(!faults.throttled("anon-read", None, true));
    }
}
