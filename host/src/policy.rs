//! What a deployment, or one tenant of it, allows: the Taiga servers its calls may reach (with the
//! plain-HTTP rule), the certificate authorities it trusts, how it signs in to Taiga (the login type
//! and its own Taiga identity), which tools it offers (toolsets, single tools, read-only mode), and
//! the bounds of each call's limits.
//!
//! The flags, the environment and the TOML file (`config.rs`) and the tenants file (`tenants.rs`)
//! build it through the same [`TaigaAccess::parse`] and check limits against the same bounds, so
//! a rule is written once; only the names of the settings differ ([`ENVIRONMENT`], [`TENANT`]).
//! The types and their bounds are in `policy/types.rs`; reading them from text is in
//! `policy/parse.rs`.

mod parse;
mod types;

pub use parse::{AccessSettings, SignInSettings, within};
pub use types::{
    CALL_MEMORY_MB, CALL_TIMEOUT_SECONDS, CONCURRENT_CALLS, CatalogueEntry, ENVIRONMENT, ENVIRONMENT_TOOLS,
    HEADER_TOOLS, HttpLimits, Identity, LinkLimits, MCP_SESSIONS, METADATA_TTL, Names, PolicyError, Primitives,
    READ_ONLY_SESSION_TOOLS, Secret, SignIn, TENANT, TENANT_TOOLS, TaigaAccess, ToolChoice, ToolNames,
};

#[cfg(test)]
mod tests;
