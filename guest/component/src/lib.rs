//! The `taiga-tools` world: exports the generic tools interface, and implements the tool logic's
//! [`Platform`] with the world's imports (wasi:http, the host's session store, clock, randomness).

wit_bindgen::generate!({
    path: "../../wit",
    world: "taiga-tools",
    generate_all,
});

use exports::taiga::mcp::tools::Guest;
use taiga::mcp::types::{
    Annotations as WitAnnotations, CallContext as WitCallContext, CallError, CallResult, StoreError as WitStoreError,
    Tool as WitTool,
};
use taiga::mcp::{progress, session_store};
use taiga_tools::{
    CallContext, DispatchError, HttpRequest, HttpResponse, Platform, Settings, StoreError, TransportError,
};

struct Component;

impl Guest for Component {
    fn list_tools() -> Vec<WitTool> {
        taiga_tools::catalogue()
            .iter()
            .map(|tool| WitTool {
                name: tool.name.to_owned(),
                title: tool.title.to_owned(),
                description: tool.description.to_owned(),
                input_schema: tool.input_schema().to_string(),
                output_schema: tool.result_schema().to_string(),
                annotations: WitAnnotations {
                    read_only: tool.annotations.read_only,
                    destructive: tool.annotations.destructive,
                    idempotent: tool.annotations.idempotent,
                    open_world: tool.annotations.open_world,
                },
            })
            .collect()
    }

    fn call_tool(name: String, arguments: String, context: WitCallContext) -> Result<CallResult, CallError> {
        let context = CallContext {
            caller: context.caller,
            namespace: context.namespace,
            settings: Settings {
                default_taiga_url: context.settings.default_taiga_url,
                session_ttl_seconds: context.settings.session_ttl_seconds,
                max_sessions_per_user: context.settings.max_sessions_per_user,
                login_rate_limit: context.settings.login_rate_limit,
                login_lockout_seconds: context.settings.login_lockout_seconds,
                request_timeout_ms: context.settings.request_timeout_ms,
                max_response_bytes: context.settings.max_response_bytes,
            },
        };
        match taiga_tools::call(&WasiPlatform, &name, &arguments, &context) {
            Ok(outcome) => {
                // serde_json's own writer: `Value`'s `Display` goes through `fmt`, 2.5 times slower.
                // Serializing a `Value` cannot fail.
                let structured = serde_json::to_string(&outcome.structured).unwrap_or_default();
                Ok(CallResult {
                    text: structured.clone(),
                    structured,
                    is_error: outcome.is_error,
                })
            }
            Err(DispatchError::UnknownTool(name)) => Err(CallError::UnknownTool(name)),
            Err(DispatchError::MalformedArguments(reason)) => Err(CallError::MalformedArguments(reason)),
        }
    }
}

export!(Component);

/// The platform of a component instance: every capability is an import the host controls.
struct WasiPlatform;

fn store_error(err: WitStoreError) -> StoreError {
    match err {
        WitStoreError::Unavailable(reason) => StoreError::Unavailable(reason),
        WitStoreError::Rejected(reason) => StoreError::Rejected(reason),
    }
}

impl Platform for WasiPlatform {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        taiga_wasi_http::send(request)
    }

    fn store_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        session_store::get(key).map_err(store_error)
    }

    fn store_set(&self, key: &str, value: &str, ttl_seconds: u64) -> Result<(), StoreError> {
        session_store::set(key, value, ttl_seconds).map_err(store_error)
    }

    fn store_delete(&self, key: &str) -> Result<bool, StoreError> {
        session_store::delete(key).map_err(store_error)
    }

    fn store_increment(&self, key: &str, delta: i64, ttl_seconds: u64) -> Result<i64, StoreError> {
        session_store::increment(key, delta, ttl_seconds).map_err(store_error)
    }

    fn store_compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
        ttl_seconds: u64,
    ) -> Result<bool, StoreError> {
        session_store::compare_and_swap(key, expected, new, ttl_seconds).map_err(store_error)
    }

    fn now_ms(&self) -> u64 {
        let now = wasi::clocks::wall_clock::now();
        now.seconds * 1000 + u64::from(now.nanoseconds / 1_000_000)
    }

    fn progress(&self, done: u64, total: u64, message: &str) {
        progress::report(done, total, message);
    }

    fn random_bytes(&self) -> [u8; 16] {
        let bytes = wasi::random::random::get_random_bytes(16);
        let mut out = [0u8; 16];
        out.copy_from_slice(&bytes[..16]);
        out
    }
}
