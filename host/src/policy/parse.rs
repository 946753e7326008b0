//! Reading a policy from its settings' text: the rules that make a URL an allowed Taiga server,
//! a file a CA bundle, a number a limit.

use std::ops::RangeInclusive;
use std::path::Path;

use std::collections::BTreeSet;

use super::types::{
    CatalogueEntry, Identity, Names, PolicyError, Primitives, READ_ONLY_SESSION_TOOLS, Secret, SignIn, TaigaAccess,
    ToolChoice, ToolNames,
};
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

/// What [`SignIn::parse`] reads: each setting as given, unset as `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignInSettings<'a> {
    /// The login type; `normal` when unset.
    pub login_type: Option<&'a str>,
    /// The identity's username.
    pub username: Option<&'a str>,
    /// Its password.
    pub password: Option<&'a str>,
    /// A file holding its password.
    pub password_file: Option<&'a Path>,
    /// A Taiga auth token.
    pub token: Option<&'a str>,
    /// Its refresh token.
    pub refresh_token: Option<&'a str>,
}

impl SignIn {
    /// Checks the login type (a plugin name: lowercase letters, digits, `-`, `_`) and the identity:
    /// a username with exactly one of a password and a password file, or a token (with its refresh
    /// token, optionally), never both kinds. Empty values count as unset.
    pub fn parse(names: &Names, settings: SignInSettings<'_>) -> Result<Self, PolicyError> {
        let fail = |setting: &'static str, message: String| PolicyError { setting, message };
        let login_type = given(settings.login_type).unwrap_or("normal");
        let plugin_name = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
        if login_type.len() > 64 || !login_type.chars().all(plugin_name) {
            return Err(fail(
                names.login_type,
                format!("`{login_type}` is not a login type; use `normal` or an auth plugin's type such as `ldap`"),
            ));
        }
        // A password is taken as given: spaces at its ends are part of it.
        let password = match (
            settings.password.filter(|password| !password.is_empty()),
            settings.password_file,
        ) {
            (Some(_), Some(_)) => {
                return Err(fail(
                    names.password_file,
                    format!("set {} or {}, not both", names.password, names.password_file),
                ));
            }
            (Some(password), None) => Some(password.to_owned()),
            (None, Some(path)) => Some(read_password(path).map_err(|message| fail(names.password_file, message))?),
            (None, None) => None,
        };
        let identity = match (given(settings.username), password, given(settings.token)) {
            (Some(_), _, Some(_)) => {
                return Err(fail(
                    names.token,
                    format!("set {} or {}, not both", names.token, names.username),
                ));
            }
            (Some(username), Some(password), None) => Some(Identity::Password {
                username: username.to_owned(),
                password: Secret::new(password),
            }),
            (Some(_), None, None) => {
                return Err(fail(
                    names.username,
                    format!("needs {} or {}", names.password, names.password_file),
                ));
            }
            (None, Some(_), _) => {
                return Err(fail(
                    names.username,
                    format!("a password is set; set {} to the user it belongs to", names.username),
                ));
            }
            (None, None, Some(token)) => Some(Identity::Token {
                auth_token: Secret::new(token.to_owned()),
                refresh_token: given(settings.refresh_token).map(|refresh| Secret::new(refresh.to_owned())),
            }),
            (None, None, None) => None,
        };
        if given(settings.refresh_token).is_some() && !matches!(identity, Some(Identity::Token { .. })) {
            return Err(fail(
                names.refresh_token,
                format!("renews a token; set {} too", names.token),
            ));
        }
        let exposed_password_file = settings
            .password_file
            .filter(|path| readable_by_others(path))
            .map(Path::to_path_buf);
        Ok(Self {
            login_type: login_type.to_owned(),
            identity,
            exposed_password_file,
        })
    }
}

/// A setting's value, unless it is unset or blank.
fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

/// Whether the group or anyone else may read the file.
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|metadata| metadata.permissions().mode() & 0o044 != 0)
}

/// A password file's first line: the whole file but a final line break.
fn read_password(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    let password = text
        .strip_suffix('\n')
        .map_or(text.as_str(), |text| text.strip_suffix('\r').unwrap_or(text));
    if password.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(password.to_owned())
}

impl ToolChoice {
    /// Reads a choice from comma-separated lists (blank: unset) and a read-only flag.
    pub fn from_lists(
        toolsets: Option<&str>,
        tools: Option<&str>,
        exclude_tools: Option<&str>,
        read_only: bool,
    ) -> Self {
        let list = |text: Option<&str>| -> Vec<String> {
            text.unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let toolsets = list(toolsets);
        Self {
            toolsets: (!toolsets.is_empty()).then_some(toolsets),
            tools: list(tools),
            exclude_tools: list(exclude_tools),
            read_only,
        }
    }

    /// The tools this choice offers from `catalogue`. A name that is neither a toolset (with `all`
    /// and `default`) nor a tool is an error that names it, the setting and what is known.
    pub fn resolve(&self, names: &ToolNames, catalogue: &[CatalogueEntry]) -> Result<BTreeSet<String>, PolicyError> {
        let known_tool = |setting: &'static str, name: &str| {
            if catalogue.iter().any(|entry| entry.name == name) {
                Ok(name.to_owned())
            } else {
                Err(PolicyError {
                    setting,
                    message: format!("no tool is named `{name}` (`tools/list` names them)"),
                })
            }
        };
        let default_toolsets = [String::from("default")];
        let toolsets: &[String] = match &self.toolsets {
            Some(toolsets) => toolsets,
            None if self.tools.is_empty() => &default_toolsets,
            None => &[],
        };
        let mut offered = BTreeSet::new();
        for toolset in toolsets {
            let members: Vec<&CatalogueEntry> = match toolset.as_str() {
                "all" => catalogue.iter().collect(),
                "default" => catalogue.iter().filter(|entry| entry.in_default).collect(),
                name => catalogue.iter().filter(|entry| entry.toolset == name).collect(),
            };
            if members.is_empty() && !matches!(toolset.as_str(), "all" | "default") {
                let mut known: Vec<&str> = catalogue.iter().map(|entry| entry.toolset.as_str()).collect();
                known.dedup();
                return Err(PolicyError {
                    setting: names.toolsets,
                    message: format!(
                        "no toolset is named `{toolset}`; use all, default or {}",
                        known.join(", ")
                    ),
                });
            }
            offered.extend(members.into_iter().map(|entry| entry.name.clone()));
        }
        // Signing in and out is always on: without it no other tool works.
        offered.extend(
            catalogue
                .iter()
                .filter(|entry| READ_ONLY_SESSION_TOOLS.contains(&entry.name.as_str()))
                .map(|entry| entry.name.clone()),
        );
        for tool in &self.tools {
            offered.insert(known_tool(names.tools, tool)?);
        }
        for tool in &self.exclude_tools {
            offered.remove(&known_tool(names.exclude_tools, tool)?);
        }
        if self.read_only {
            offered.retain(|name| {
                READ_ONLY_SESSION_TOOLS.contains(&name.as_str())
                    || catalogue.iter().any(|entry| &entry.name == name && entry.read_only)
            });
        }
        Ok(offered)
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

impl Primitives {
    /// The primitives a list names (`resources`, `prompts`, `skills`; `none` for none); `setting`
    /// names the list in errors. Skills without resources are refused: they are read as resources.
    pub fn parse<'a>(setting: &'static str, names: impl IntoIterator<Item = &'a str>) -> Result<Self, PolicyError> {
        let mut chosen = Self {
            resources: false,
            prompts: false,
            skills: false,
        };
        for name in names.into_iter().map(str::trim).filter(|name| !name.is_empty()) {
            match name {
                "resources" => chosen.resources = true,
                "prompts" => chosen.prompts = true,
                "skills" => chosen.skills = true,
                "none" => {}
                other => {
                    return Err(PolicyError {
                        setting,
                        message: format!("`{other}` is not one of {}, or `none`", Self::NAMES.join(", ")),
                    });
                }
            }
        }
        if chosen.skills && !chosen.resources {
            return Err(PolicyError {
                setting,
                message: "`skills` needs `resources`: a skill's files are read as resources".to_owned(),
            });
        }
        Ok(chosen)
    }
}
