//! Inspects the typed `taiga-gateway` component with the `wasm-tools` CLI (`cargo install
//! wasm-tools`; `make test` installs it under `.tools/`): it imports only wasi:http and what Rust's
//! standard library needs, exports one documented function per tool, and carries its docs.

use std::process::Command;
use taiga_gateway_host_tests::{component_path, gateway_wit};

/// What a gateway that links only WASI 0.2 and wasi:http must provide: wasi:http and its I/O and
/// monotonic clock, `wasi:random/random` (multipart boundaries and session ids), plus the
/// environment, exit, stdio, wall clock and hash seed that std links.
const ALLOWED_IMPORTS: &[&str] = &[
    "wasi:http/types@",
    "wasi:http/outgoing-handler@",
    "wasi:io/poll@",
    "wasi:io/error@",
    "wasi:io/streams@",
    "wasi:clocks/monotonic-clock@",
    "wasi:clocks/wall-clock@",
    "wasi:random/insecure-seed@",
    "wasi:random/random@",
    "wasi:cli/environment@",
    "wasi:cli/exit@",
    "wasi:cli/stdin@",
    "wasi:cli/stdout@",
    "wasi:cli/stderr@",
    "wasi:cli/terminal-",
];

fn component_wit() -> String {
    let wasm = component_path();
    let tool = std::env::var_os("WASM_TOOLS").unwrap_or_else(|| "wasm-tools".into());
    let output = Command::new(&tool)
        .args(["component", "wit"])
        .arg(&wasm)
        .output()
        .unwrap_or_else(|err| {
            panic!("cannot run {tool:?} ({err}): `cargo install wasm-tools`, or set WASM_TOOLS; `make test` does both")
        });
    assert!(
        output.status.success(),
        "wasm-tools component wit {}: {}",
        wasm.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn imports_are_only_wasi_http_and_what_std_needs() {
    let wit = component_wit();
    let imports: Vec<&str> = wit
        .lines()
        .filter_map(|line| line.trim().strip_prefix("import "))
        .map(|import| import.trim_end_matches(';'))
        .collect();
    assert!(
        imports
            .iter()
            .any(|import| import.starts_with("wasi:http/outgoing-handler@"))
    );
    for import in &imports {
        assert!(
            ALLOWED_IMPORTS.iter().any(|allowed| import.starts_with(allowed)),
            "unexpected import {import}"
        );
    }
}

#[test]
fn every_export_is_a_documented_typed_function() {
    let wit = component_wit();
    let lines: Vec<&str> = wit.lines().map(str::trim).collect();
    let exports: Vec<usize> = (0..lines.len())
        .filter(|&index| lines[index].starts_with("export "))
        .collect();
    let expected = gateway_wit().matches("    export taiga-").count();
    assert_eq!(exports.len(), expected);
    for index in exports {
        assert!(lines[index].starts_with("export taiga-"), "{}", lines[index]);
        assert!(lines[index].ends_with("-> result<string, string>;"), "{}", lines[index]);
        assert!(lines[index - 1].starts_with("///"), "no docs above {}", lines[index]);
    }
    assert!(wit.contains("enum visibility"));
    assert!(wit.contains("variant id-or-name"));
}
