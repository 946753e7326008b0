//! What a deployment, or one tenant of it, allows: the Taiga servers its calls may reach (with the
//! plain-HTTP rule), the certificate authorities it trusts, and the bounds of each call's limits.
//!
//! The flags, the environment and the TOML file (`config.rs`) and the tenants file (`tenants.rs`)
//! build it through the same [`TaigaAccess::parse`] and check limits against the same bounds, so
//! a rule is written once; only the names of the settings differ ([`ENVIRONMENT`], [`TENANT`]).

use std::ops::RangeInclusive;
use std::path::Path;

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

/// What [`TaigaAccess::parse`] reads.
#[derive(Debug, Clone, Copy)]
pub struct AccessSettings<'a> {
    /// The default server's URL.
    pub default_server: &'a str,
    /// More servers' URLs.
    pub more_servers: &'a [&'a str],
    /// Whether plain-HTTP servers may be named (`ALLOW_HTTP_TAIGA`).
    pub allow_http: bool,
    /// A PEM file of CAs to trust besides the standard ones.
    pub ca_file: Option<&'a Path>,
}

impl TaigaAccess {
    /// Checks the servers (each a Taiga URL, plain HTTP only when allowed) and reads the CA file;
    /// without one, `inherited` trust applies (a tenant inherits the deployment's), or the standard
    /// roots. The first bad setting is the error, named by `names`.
    pub fn parse(names: &Names, settings: AccessSettings<'_>, inherited: Option<&Trust>) -> Result<Self, PolicyError> {
        let server = |setting: &'static str, text: &str| {
            let origin = Origin::parse(text).map_err(|message| PolicyError {
                setting,
                message: format!("`{text}`: {message}"),
            })?;
            if origin.scheme() == "http" && !settings.allow_http {
                return Err(PolicyError {
                    setting,
                    message: format!(
                        "`{origin}` is plain HTTP; use https, or set ALLOW_HTTP_TAIGA=true for a local test server"
                    ),
                });
            }
            Ok(origin)
        };
        let default_server = server(names.default_server, settings.default_server)?;
        let mut origins = vec![default_server.clone()];
        for text in settings.more_servers {
            origins.push(server(names.more_servers, text)?);
        }
        let trust = match settings.ca_file {
            Some(path) => Trust::with_ca_file(path).map_err(|message| PolicyError {
                setting: names.ca_file,
                message,
            })?,
            None => inherited.cloned().unwrap_or_else(Trust::standard),
        };
        Ok(Self {
            default_server,
            allow_list: AllowList::new(origins),
            trust,
        })
    }
}

/// Checks `value` against `bounds`, naming `setting` when it is outside.
pub fn within<T: PartialOrd + std::fmt::Display + Copy>(
    setting: &'static str,
    value: T,
    bounds: &RangeInclusive<T>,
) -> Result<T, PolicyError> {
    if bounds.contains(&value) {
        Ok(value)
    } else {
        Err(PolicyError {
            setting,
            message: format!("must be {} to {}", bounds.start(), bounds.end()),
        })
    }
}

#[cfg(test)]
mod tests;
