//! The `taiga-gateway` world: the Taiga tools as typed functions for WebAssembly MCP gateways.
//!
//! It keeps no session. Each call signs in with the credentials in the component's environment,
//! runs the tool through the same logic as the `taiga-tools` world, and forgets everything: the
//! session store it gives the tool logic lives in this call's memory only.

#[rustfmt::skip]
mod generated;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use serde_json::{Map, Value};
use taiga_tools::session::{self, Session};
use taiga_tools::taiga::{Taiga, TaigaUrl};
use taiga_tools::{CallContext, HttpRequest, HttpResponse, Platform, Settings, StoreError, ToolError, TransportError};

/// The world's bindings. Its functions take one parameter per tool argument, by design.
#[allow(clippy::too_many_arguments)]
mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "taiga-gateway",
        generate_all,
    });
}

use bindings::{IdOrName, IdOrNone};

/// The component.
struct Gateway;

bindings::export!(Gateway with_types_in bindings);

/// A typed parameter as a JSON argument; `None` leaves an optional argument out.
trait Arg {
    fn arg(self) -> Option<Value>;
}

impl Arg for u32 {
    fn arg(self) -> Option<Value> {
        Some(self.into())
    }
}

impl Arg for i64 {
    fn arg(self) -> Option<Value> {
        Some(self.into())
    }
}

impl Arg for bool {
    fn arg(self) -> Option<Value> {
        Some(self.into())
    }
}

impl Arg for String {
    fn arg(self) -> Option<Value> {
        Some(self.into())
    }
}

impl<T: Into<Value>> Arg for Vec<T> {
    fn arg(self) -> Option<Value> {
        Some(self.into())
    }
}

impl<T: Arg> Arg for Option<T> {
    fn arg(self) -> Option<Value> {
        self.and_then(Arg::arg)
    }
}

impl Arg for IdOrName {
    fn arg(self) -> Option<Value> {
        Some(match self {
            Self::Id(id) => id.into(),
            Self::Name(name) => name.into(),
        })
    }
}

impl Arg for IdOrNone {
    fn arg(self) -> Option<Value> {
        Some(match self {
            Self::None => Value::Null,
            Self::Id(id) => id.into(),
        })
    }
}

/// Lifetime of the one-call session, in seconds.
const CALL_SESSION_SECONDS: u64 = 3600;

/// The capabilities of one call: wasi:http, and a store that lives as long as the call.
#[derive(Default)]
struct CallPlatform {
    store: RefCell<HashMap<String, String>>,
    /// Session ids only need to be distinct within the call: nothing outside it ever sees them.
    next_id: Cell<u64>,
}

impl Platform for CallPlatform {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        taiga_wasi_http::send(request)
    }

    fn store_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.store.borrow().get(key).cloned())
    }

    fn store_set(&self, key: &str, value: &str, _ttl_seconds: u64) -> Result<(), StoreError> {
        self.store.borrow_mut().insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    fn store_delete(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.store.borrow_mut().remove(key).is_some())
    }

    fn store_increment(&self, key: &str, delta: i64, _ttl_seconds: u64) -> Result<i64, StoreError> {
        let mut store = self.store.borrow_mut();
        let value = store.get(key).and_then(|text| text.parse::<i64>().ok()).unwrap_or(0) + delta;
        store.insert(key.to_owned(), value.to_string());
        Ok(value)
    }

    fn store_compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
        _ttl_seconds: u64,
    ) -> Result<bool, StoreError> {
        let mut store = self.store.borrow_mut();
        if store.get(key).map(String::as_str) != expected {
            return Ok(false);
        }
        match new {
            Some(value) => store.insert(key.to_owned(), value.to_owned()),
            None => store.remove(key),
        };
        Ok(true)
    }

    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
    }

    fn progress(&self, _done: u64, _total: u64, _message: &str) {
        // Typed exports have no progress channel; the result arrives when the call ends.
    }

    fn random_bytes(&self) -> [u8; 16] {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        let mut bytes = [0u8; 16];
        bytes[8..].copy_from_slice(&id.to_be_bytes());
        bytes
    }
}

fn environment(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}

/// The settings of a call, from the component's environment.
fn settings() -> Result<Settings, ToolError> {
    let url = environment("TAIGA_URL").ok_or_else(|| {
        ToolError::invalid(
            "TAIGA_URL",
            "set TAIGA_URL in the component's environment to the Taiga server, e.g. https://api.taiga.io",
        )
    })?;
    Ok(Settings {
        default_taiga_url: url,
        session_ttl_seconds: CALL_SESSION_SECONDS,
        ..Settings::default()
    })
}

/// Signs in with the environment's token or username and password; returns the call's session id.
fn sign_in(platform: &CallPlatform, context: &CallContext) -> Result<String, Value> {
    let settings = &context.settings;
    if let Some(token) = environment("TAIGA_TOKEN") {
        let base = TaigaUrl::parse(&settings.default_taiga_url)
            .map_err(|reason| ToolError::invalid("TAIGA_URL", reason).to_body())?;
        let me = Taiga::new(
            platform,
            &base,
            settings.request_timeout_ms,
            settings.max_response_bytes,
        )
        .with_token(&token)
        .get("/users/me", "the user of TAIGA_TOKEN")
        .map_err(|err| err.to_body())?;
        let now = platform.now_ms();
        let session = Session {
            username: me["username"].as_str().unwrap_or_default().to_owned(),
            user_id: me["id"].as_i64().unwrap_or_default(),
            taiga_url: base.as_str().to_owned(),
            auth_token: token,
            refresh_token: String::new(),
            created_at_ms: now,
            expires_at_ms: now + CALL_SESSION_SECONDS * 1000,
            last_accessed_ms: now,
            token_issued_ms: now,
        };
        return session::create(platform, &session, 1).map_err(|err| err.to_body());
    }
    let (Some(username), Some(password)) = (environment("TAIGA_USERNAME"), environment("TAIGA_PASSWORD")) else {
        return Err(ToolError::invalid(
            "TAIGA_TOKEN",
            "set TAIGA_TOKEN, or TAIGA_USERNAME and TAIGA_PASSWORD, in the component's environment",
        )
        .to_body());
    };
    let login = serde_json::json!({"username": username, "password": password}).to_string();
    let outcome = taiga_tools::call(platform, "login", &login, context)
        .map_err(|err| ToolError::internal(err.to_string()).to_body())?;
    if outcome.is_error {
        return Err(outcome.structured);
    }
    outcome.structured["session_id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ToolError::internal("login returned no session").to_body())
}

/// Runs `tool` with `arguments` for the environment's Taiga user: the result's JSON text, or the
/// error body's.
fn run(tool: &str, arguments: Vec<(&str, Option<Value>)>) -> Result<String, String> {
    let platform = CallPlatform::default();
    let outcome = settings().map_err(|err| err.to_body()).and_then(|settings| {
        let context = CallContext {
            caller: "gateway".to_owned(),
            namespace: "gateway".to_owned(),
            settings,
        };
        let session_id = sign_in(&platform, &context)?;
        let mut object: Map<String, Value> = arguments
            .into_iter()
            .filter_map(|(name, value)| value.map(|value| (name.to_owned(), value)))
            .collect();
        object.insert("session_id".to_owned(), session_id.into());
        let outcome = taiga_tools::call(&platform, tool, &Value::Object(object).to_string(), &context)
            .map_err(|err| ToolError::internal(err.to_string()).to_body())?;
        if outcome.is_error {
            Err(outcome.structured)
        } else {
            Ok(outcome.structured)
        }
    });
    // serde_json's own writer (`Display` goes through `fmt`, 2.5 times slower); a `Value` always serializes.
    let text = |value: Value| serde_json::to_string(&value).unwrap_or_default();
    outcome.map(text).map_err(text)
}
