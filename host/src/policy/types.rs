//! The policy's types and the bounds of its limits.

use std::ops::RangeInclusive;

use crate::network::{AllowList, Origin, Trust};

/// Memory of one call's sandbox, in MiB (`CALL_MEMORY_MB`, `call_memory_mb`).
pub const CALL_MEMORY_MB: RangeInclusive<u64> = 8..=4096;
/// Wall-clock time of one call, in seconds (`CALL_TIMEOUT`, `call_timeout_seconds`).
pub const CALL_TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=3600;
/// Calls of one tenant at once (`max_concurrent_calls`).
pub const CONCURRENT_CALLS: RangeInclusive<u32> = 1..=10_000;

/// How a source names the settings of [`TaigaAccess`].
#[derive(Debug, Clone, Copy)]
pub struct Names {
    /// The server `login` uses by default.
    pub default_server: &'static str,
    /// More servers `login` may name.
    pub more_servers: &'static str,
    /// A PEM file of CAs to trust.
    pub ca_file: &'static str,
}

/// The settings as environment variables (and flags, and keys of the TOML file).
pub const ENVIRONMENT: Names = Names {
    default_server: "TAIGA_API_URL",
    more_servers: "TAIGA_ALLOWED_HOSTS",
    ca_file: "TAIGA_CA_FILE",
};

/// The settings as keys of a `[[tenant]]` table.
pub const TENANT: Names = Names {
    default_server: "taiga_api_url",
    more_servers: "taiga_allowed_hosts",
    ca_file: "taiga_ca_file",
};

/// A setting that breaks the policy, named as its source names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct PolicyError {
    /// The setting at fault.
    pub setting: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

/// The Taiga servers calls may reach, and whose certificates they trust.
#[derive(Debug, Clone)]
pub struct TaigaAccess {
    /// The server `login` uses when it names none; always allowed.
    pub default_server: Origin,
    /// Every server calls may reach: the default one and the others.
    pub allow_list: AllowList,
    /// The CAs trusted for their TLS.
    pub trust: Trust,
}
