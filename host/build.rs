//! Builds the `taiga-component` WebAssembly component (wasm32-wasip2, the `component` profile) so that the host
//! binary embeds it and `cargo run -p taiga-mcp` needs no other step. Set `TAIGA_COMPONENT_WASM`
//! to embed a prebuilt component instead.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("host/ sits in the workspace")
        .to_path_buf();
    println!("cargo:rerun-if-env-changed=TAIGA_COMPONENT_WASM");
    for input in ["guest", "wit", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }

    let wasm = match env::var_os("TAIGA_COMPONENT_WASM") {
        Some(prebuilt) => PathBuf::from(prebuilt),
        None => build_component(&workspace),
    };
    println!("cargo:rustc-env=TAIGA_COMPONENT_WASM_PATH={}", wasm.display());
}

fn build_component(workspace: &std::path::Path) -> PathBuf {
    // A separate target directory: the outer build holds the lock on `target/<profile>`.
    let target_dir = workspace.join("target").join("component");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args([
            "build",
            "--package",
            "taiga-component",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "component",
            "--target-dir",
        ])
        .arg(&target_dir);
    // Settings meant for the host build must not leak into the guest build.
    for variable in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CLIPPY_ARGS",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        command.env_remove(variable);
    }
    let status = command.status().expect("cargo can be started");
    assert!(
        status.success(),
        "building the taiga-component WebAssembly component failed; is the wasm32-wasip2 target installed? \
         (rustup target add wasm32-wasip2)"
    );
    target_dir
        .join("wasm32-wasip2")
        .join("component")
        .join("taiga_component.wasm")
}
