//! Misbehaving tools for the sandbox tests: `panic` panics, `spin` never returns, `allocate`
//! grows memory without bound, `ok` answers. Loaded with `TAIGA_COMPONENT`.

wit_bindgen::generate!({
    path: "../../wit",
    world: "taiga-tools",
    generate_all,
});

use exports::taiga::mcp::tools::Guest;
use taiga::mcp::types::{Annotations, CallContext, CallError, CallResult, Tool};

struct TrapComponent;

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
        ["ok", "panic", "spin", "allocate"].into_iter().map(tool).collect()
    }

    fn call_tool(name: String, _arguments: String, _context: CallContext) -> Result<CallResult, CallError> {
        match name.as_str() {
            "ok" => Ok(CallResult {
                text: r#"{"ok":true}"#.to_owned(),
                structured: r#"{"ok":true}"#.to_owned(),
                is_error: false,
            }),
            "panic" => panic!("a deliberate panic"),
            "spin" => loop {
                std::hint::black_box(());
            },
            "allocate" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            other => Err(CallError::UnknownTool(other.to_owned())),
        }
    }
}

export!(TrapComponent);
