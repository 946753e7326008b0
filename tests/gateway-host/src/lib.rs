//! Tests only: see `tests/`. They load `target/gateway/taiga-gateway.wasm` (built by `make build`)
//! in a plain wasmtime host and inspect it with the `wasm-tools` CLI.
