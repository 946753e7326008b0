//! Embeds a WIT package's documentation in a component, as the `package-docs` custom section that
//! gateways (Wassette's `component2json`, `wasm-tools`) read to describe each export. Components
//! built by `wit-bindgen` carry the types of their world but not its doc comments.

use std::path::Path;

use anyhow::Context as _;
use wit_parser::{PackageMetadata, Resolve};

/// The custom section's name.
pub const SECTION: &str = PackageMetadata::SECTION_NAME;

/// The name a decoded component gives its world (in package `root:component`).
const COMPONENT_WORLD: &str = "root";

/// The `package-docs` payload for a component of `world` of the package in `wit_dir`. A component
/// decodes as package `root:component` holding one world, `root`: the docs are keyed to match, so
/// that `wasm-tools component wit` shows them and gateways find each export's docs.
pub fn package_docs(wit_dir: &Path, world: &str) -> anyhow::Result<Vec<u8>> {
    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_dir(wit_dir)
        .with_context(|| format!("parsing the WIT package in {}", wit_dir.display()))?;
    let encoded = PackageMetadata::extract(&resolve, package).encode()?;
    let (version, json) = encoded.split_first().context("empty package docs")?;
    let mut docs: serde_json::Value = serde_json::from_slice(json)?;
    let world_docs = docs["worlds"][world].take();
    anyhow::ensure!(!world_docs.is_null(), "no world `{world}` in {}", wit_dir.display());
    let mut keyed = serde_json::Map::new();
    if let Some(package_docs) = docs.get("docs") {
        keyed.insert("docs".into(), package_docs.clone());
    }
    keyed.insert("worlds".into(), serde_json::json!({ COMPONENT_WORLD: world_docs }));
    let mut payload = vec![*version];
    payload.extend(serde_json::to_vec(&keyed)?);
    Ok(payload)
}

fn leb128(mut value: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// `binary` (a component or module) with a custom section `name` holding `payload` appended;
/// custom sections may sit anywhere, the end included.
pub fn with_custom_section(binary: &[u8], name: &str, payload: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(name.len() + payload.len() + 5);
    leb128(name.len(), &mut content);
    content.extend_from_slice(name.as_bytes());
    content.extend_from_slice(payload);
    let mut out = binary.to_vec();
    out.push(0);
    leb128(content.len(), &mut out);
    out.extend_from_slice(&content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component: the preamble only.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\x00\x01\x00";

    fn workspace_wit() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit")
    }

    #[test]
    fn the_payload_carries_every_typed_function_doc() {
        let payload = package_docs(&workspace_wit(), "taiga-gateway").unwrap();
        PackageMetadata::decode(&payload).unwrap();
        let docs: serde_json::Value = serde_json::from_slice(&payload[1..]).unwrap();
        assert_eq!(docs["worlds"].as_object().unwrap().len(), 1);
        let functions = &docs["worlds"]["root"]["func_exports"];
        for tool in crate::gateway_tools() {
            let name = format!("taiga-{}", tool.name.replace('_', "-"));
            let text = functions[&name]["docs"].as_str().unwrap_or_default();
            assert!(text.starts_with(tool.title), "{name}: {text}");
        }
        assert!(docs["worlds"]["root"]["docs"].as_str().unwrap().contains("TAIGA_URL"));
        assert!(package_docs(&workspace_wit(), "no-such-world").is_err());
    }

    #[test]
    fn the_section_is_appended_whole() {
        let payload = vec![7u8; 200];
        let out = with_custom_section(EMPTY_COMPONENT, SECTION, &payload);
        assert_eq!(&out[..EMPTY_COMPONENT.len()], EMPTY_COMPONENT);
        let section = &out[EMPTY_COMPONENT.len()..];
        assert_eq!(section[0], 0, "custom section id");
        let content_len = 1 + SECTION.len() + payload.len();
        assert_eq!(
            &section[1..3],
            &[(content_len & 0x7f) as u8 | 0x80, (content_len >> 7) as u8]
        );
        assert_eq!(section[3] as usize, SECTION.len());
        assert_eq!(&section[4..4 + SECTION.len()], SECTION.as_bytes());
        assert_eq!(&section[4 + SECTION.len()..], &payload[..]);
    }
}
