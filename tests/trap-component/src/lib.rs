//! Misbehaving tools for the sandbox tests: `panic` panics, `spin` never returns, `allocate`
//! grows memory without bound (or by `{"mebibytes": n}` and then answers), `ok` answers, and
//! `remember` answers how many calls it saw before (a count kept in linear memory, which the host
//! must reset between calls). Loaded with `TAIGA_COMPONENT`.

use std::sync::atomic::{AtomicU64, Ordering};

wit_bindgen::generate!({
    path: "../../wit",
    world: "taiga-tools",
    generate_all,
});

use exports::taiga::mcp::tools::Guest;
use taiga::mcp::types::{Annotations, CallContext, CallError, CallResult, Tool};

struct TrapComponent;

/// Calls of `remember` seen by this instance's memory.
static REMEMBERED: AtomicU64 = AtomicU64::new(0);

fn tool(name: &str) -> Tool {
    Tool {
        name: name.to_owned(),
        title: name.to_owned(),
        description: format!("Sandbox test tool `{name}`."),
        input_schema: r#"{"type":"object","properties":{},"additionalProperties":false}"#.to_owned(),
        output_schema: r#"{"type":"object"}"#.to_owned(),
        annotations: Annotations {
            read_only: true,
            destructive: false,
            idempotent: true,
            open_world: false,
        },
    }
}

impl Guest for TrapComponent {
    fn list_tools() -> Vec<Tool> {
        ["ok", "panic", "spin", "allocate", "remember"]
            .into_iter()
            .map(tool)
            .collect()
    }

    fn call_tool(name: String, arguments: String, _context: CallContext) -> Result<CallResult, CallError> {
        let ok = || CallResult {
            text: r#"{"ok":true}"#.to_owned(),
            structured: r#"{"ok":true}"#.to_owned(),
            is_error: false,
        };
        match name.as_str() {
            "ok" => Ok(ok()),
            "remember" => {
                let before = REMEMBERED.fetch_add(1, Ordering::Relaxed);
                let body = format!(r#"{{"calls_before":{before}}}"#);
                Ok(CallResult {
                    text: body.clone(),
                    structured: body,
                    is_error: false,
                })
            }
            "panic" => panic!("a deliberate panic"),
            "spin" => loop {
                std::hint::black_box(());
            },
            "allocate" => {
                let limit = serde_json::from_str::<serde_json::Value>(&arguments)
                    .ok()
                    .and_then(|arguments| arguments["mebibytes"].as_u64());
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                while limit.is_none_or(|limit| (hoard.len() as u64) < limit) {
                    hoard.push(vec![1; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
                Ok(ok())
            }
            other => Err(CallError::UnknownTool(other.to_owned())),
        }
    }
}

export!(TrapComponent);
