//! Reading a policy from its settings' text: the rules that make a URL an allowed Taiga server,
//! a file a CA bundle, a number a limit.

use std::ops::RangeInclusive;
use std::path::Path;

use super::types::{Names, PolicyError, TaigaAccess};
use crate::network::{AllowList, Origin, Trust};

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
