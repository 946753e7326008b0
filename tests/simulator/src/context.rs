//! What every handler needs to know about a request: who sent it (Taiga's token rules), its query
//! in order, its headers and its absolute URL.

use std::sync::{Arc, MutexGuard};

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::Response;
use serde_json::Value;

use crate::respond::{self, PageRequest};
use crate::shared::Shared;
use crate::state::State;

/// The shared simulator handle given to handlers.
pub type Sim = Arc<Shared>;

/// A request's caller and parameters.
pub struct Ctx {
    /// The authenticated user, or none for an anonymous request.
    pub user: Option<i64>,
    /// Query pairs, decoded, in order.
    pub query: Vec<(String, String)>,
    /// Request headers.
    pub headers: HeaderMap,
    /// Absolute URL without the query.
    pub url: String,
    sim: Sim,
}

impl Ctx {
    /// Locks the state.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.sim.state()
    }

    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The caller, or Taiga's 401 for anonymous requests.
    pub fn require_user(&self) -> Result<i64, Response> {
        self.user.ok_or_else(respond::not_authenticated)
    }

    /// Paginates a list the way Taiga does.
    pub fn paginate(&self, items: Vec<Value>) -> Response {
        respond::paginate(
            &PageRequest {
                url: &self.url,
                query: &self.query,
                headers: &self.headers,
            },
            items,
        )
    }
}

/// Decodes `a=1&b=x%20y` into ordered pairs.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[index + 1..index + 3]).map(|hex| u8::from_str_radix(hex, 16)) {
                    Ok(Ok(byte)) => {
                        out.push(byte);
                        index += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Applies Taiga's token rules: no header or another scheme is anonymous; `Bearer <token>` must be valid.
fn authenticate(state: &State, headers: &HeaderMap) -> Result<Option<i64>, Response> {
    let Some(value) = headers.get("authorization").and_then(|value| value.to_str().ok()) else {
        return Ok(None);
    };
    let parts: Vec<&str> = value.split_whitespace().collect();
    match parts.as_slice() {
        ["Bearer", token] => state
            .access_tokens
            .get(*token)
            .copied()
            .map(Some)
            .ok_or_else(respond::token_not_valid),
        ["Bearer", ..] => Err(respond::json_response(
            axum::http::StatusCode::UNAUTHORIZED,
            &serde_json::json!({"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"}),
        )),
        _ => Ok(None),
    }
}

impl FromRequestParts<Sim> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, sim: &Sim) -> Result<Self, Self::Rejection> {
        let user = authenticate(&sim.state(), &parts.headers)?;
        let host = parts
            .headers
            .get("host")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("127.0.0.1")
            .to_owned();
        // The path as sent, base path included, as Django's `build_absolute_uri` gives it.
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.path().to_owned(), |original| original.path().to_owned());
        Ok(Self {
            user,
            query: parse_query(parts.uri.query().unwrap_or_default()),
            headers: parts.headers.clone(),
            url: format!("{}://{host}{path}", if sim.https { "https" } else { "http" }),
            sim: sim.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_in_order() {
        assert_eq!(
            parse_query("project=10&q=a%20b+c&flag&bad=%zz"),
            vec![
                ("project".into(), "10".into()),
                ("q".into(), "a b c".into()),
                ("flag".into(), String::new()),
                ("bad".into(), "%zz".into()),
            ]
        );
    }
}
