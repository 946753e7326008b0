//! `embed-docs <component.wasm> <wit dir> <world> <out.wasm>`: writes the component with the docs
//! of its WIT world embedded as its `package-docs` custom section.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use taiga_gateway_gen::docs::{SECTION, package_docs, with_custom_section};

fn run(component: PathBuf, wit_dir: PathBuf, world: &str, out: PathBuf) -> anyhow::Result<()> {
    let binary = std::fs::read(&component).with_context(|| format!("reading {}", component.display()))?;
    let documented = with_custom_section(&binary, SECTION, &package_docs(&wit_dir, world)?);
    std::fs::write(&out, documented).with_context(|| format!("writing {}", out.display()))
}

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [component, wit_dir, world, out] = <[PathBuf; 4]>::try_from(args).unwrap_or_else(|_| {
        eprintln!("usage: embed-docs <component.wasm> <wit dir> <world> <out.wasm>");
        std::process::exit(2);
    });
    match run(component, wit_dir, &world.to_string_lossy(), out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("embed-docs: {err:#}");
            ExitCode::FAILURE
        }
    }
}
