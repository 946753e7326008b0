//! Shared by the tests in `tests/`: they load `target/gateway/taiga-gateway.wasm` (built by `make
//! build`) in a plain wasmtime host and inspect it with the `wasm-tools` CLI.

use std::path::PathBuf;

/// The typed component under test: `TAIGA_GATEWAY_WASM`, or the one `make build` writes.
pub fn component_path() -> PathBuf {
    std::env::var_os("TAIGA_GATEWAY_WASM").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/gateway/taiga-gateway.wasm"),
        PathBuf::from,
    )
}

/// The checked-in `taiga-gateway` world.
pub fn gateway_wit() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../wit/gateway.wit");
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}
