//! Signing in to Taiga: with a password (the `login` tool, the deployment's identity) or with a
//! token Taiga issued; and the deployment identity's session, which calls without a `session_id`
//! use. That session lives in the host's store like any other, under an id fixed by the identity,
//! so that every call and every replica finds the same one; the bridge signs in on first use, and
//! again (or renews the token) when Taiga rejects it.

use serde_json::{Map, Value, json};

use crate::api;
use crate::call::Call;
use crate::context::Identity;
use crate::error::{ErrorCode, ToolError, ToolResult};
use crate::login_guard::LoginGuard;
use crate::session::{self, Session};
use crate::taiga::TaigaUrl;

/// Taiga's answer when `/auth` does not know the login `type` (recordings 4 and 178).
const UNKNOWN_LOGIN_TYPE: &str = "invalid login type";

/// Signs in as `username` with `password`, posting the deployment's login type, after charging
/// the attempt to the login rate limits.
pub fn with_password(call: &Call<'_>, base: &TaigaUrl, username: &str, password: &str) -> ToolResult<Session> {
    let settings = &call.context.settings;
    LoginGuard::new(call.platform, settings, &call.context.caller, base.as_str(), username).attempt()?;
    let login_type = settings.login_type.as_str();
    let answer = call
        .taiga(base)
        .post(
            "/auth",
            &json!({"type": login_type, "username": username, "password": password}),
            "the login endpoint",
        )
        .map_err(|err| login_refusal(err, login_type))?;
    let text = |key: &str| {
        answer[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ToolError::new(ErrorCode::TaigaError, format!("Taiga's login answer has no `{key}`")))
    };
    Ok(new_session(
        call,
        base,
        text("username")?,
        answer["id"].as_i64().unwrap_or_default(),
        text("auth_token")?,
        text("refresh")?,
    ))
}

/// What a refused `/auth` means. An auth plugin (LDAP, Active Directory) refuses credentials with
/// a 400 of its own rather than the normal plugin's 401, so a 400 under a plugin's type is a
/// credentials refusal too, unless Taiga does not know the type at all.
fn login_refusal(err: ToolError, login_type: &str) -> ToolError {
    if err.code != ErrorCode::InvalidInput {
        return err;
    }
    if err.message.contains(UNKNOWN_LOGIN_TYPE) {
        return ToolError::new(
            ErrorCode::InvalidInput,
            format!(
                "Taiga has no sign-in of type `{login_type}`; the operator sets TAIGA_LOGIN_TYPE to `normal` or to the \
                 type its auth plugin registers (`ldap`, `ad`)"
            ),
        )
        .with("field", "login_type");
    }
    if login_type == "normal" {
        return err;
    }
    ToolError::new(
        ErrorCode::InvalidCredentials,
        format!("Taiga's `{login_type}` sign-in refused the username or password"),
    )
    .with("taiga_message", err.message)
}

/// A session for a token Taiga issued: the token's user, from `/users/me`.
fn with_token(call: &Call<'_>, base: &TaigaUrl, auth_token: &str, refresh_token: Option<&str>) -> ToolResult<Session> {
    let me = call
        .taiga(base)
        .with_token(auth_token)
        .get("/users/me", "the user of the deployment's token")
        .map_err(|err| match err.code {
            ErrorCode::SessionExpired | ErrorCode::InvalidCredentials => ToolError::new(
                ErrorCode::InvalidCredentials,
                "Taiga does not accept the deployment's token (TAIGA_TOKEN); the operator must set a new one",
            ),
            _ => err,
        })?;
    Ok(new_session(
        call,
        base,
        me["username"].as_str().unwrap_or_default().to_owned(),
        me["id"].as_i64().unwrap_or_default(),
        auth_token.to_owned(),
        refresh_token.unwrap_or_default().to_owned(),
    ))
}

fn new_session(
    call: &Call<'_>,
    base: &TaigaUrl,
    username: String,
    user_id: i64,
    auth_token: String,
    refresh_token: String,
) -> Session {
    let now = call.platform.now_ms();
    Session {
        username,
        user_id,
        taiga_url: base.as_str().to_owned(),
        auth_token,
        refresh_token,
        created_at_ms: now,
        expires_at_ms: now + call.context.settings.session_ttl_seconds * 1000,
        last_accessed_ms: now,
        token_issued_ms: now,
    }
}

/// The deployment identity's session id: a UUID made from the Taiga server, the login type and
/// the user (or a digest of the token), so that it changes when the identity does.
pub fn deployment_session_id(call: &Call<'_>) -> Option<String> {
    let settings = &call.context.settings;
    let who = match settings.identity.as_ref()? {
        Identity::Password { username, .. } => format!("password|{}", username.trim().to_lowercase()),
        Identity::Token { auth_token, .. } => format!("token|{auth_token}"),
    };
    let text = format!("{}|{}|{who}", settings.default_taiga_url, settings.login_type);
    Some(session::uuid_v4(fnv1a_128(text.as_bytes()).to_be_bytes()))
}

/// FNV-1a, 128 bits: a stable digest for a store key, where no adversary chooses the input.
fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    bytes
        .iter()
        .fold(OFFSET, |hash, byte| (hash ^ u128::from(*byte)).wrapping_mul(PRIME))
}

/// Signs the deployment identity in and stores its session under `id`.
fn sign_in_as_deployment(call: &Call<'_>, id: &str) -> ToolResult<()> {
    let settings = &call.context.settings;
    let base =
        TaigaUrl::parse(&settings.default_taiga_url).map_err(|reason| ToolError::invalid("TAIGA_API_URL", reason))?;
    let session = match settings.identity.as_ref() {
        Some(Identity::Password { username, password }) => with_password(call, &base, username, password)?,
        Some(Identity::Token {
            auth_token,
            refresh_token,
        }) => with_token(call, &base, auth_token, refresh_token.as_deref())?,
        None => return Err(ToolError::internal("no deployment identity")),
    };
    session::update(call.platform, id, &session)
}

/// Taiga rejected the deployment session's token: renew it with the refresh token when the
/// session has one, otherwise sign in again.
fn recover(call: &Call<'_>, id: &str) -> ToolResult<()> {
    if let Ok(mut stored) = session::resume(call.platform, id)
        && !stored.refresh_token.is_empty()
        && api::renew(call, &mut stored).is_ok()
    {
        return session::update(call.platform, id, &stored);
    }
    session::end(call.platform, id)?;
    sign_in_as_deployment(call, id)
}

/// Runs a tool for a call without a `session_id` as the deployment's identity: its session (signed
/// in on first use) is passed as the `session_id`, and when Taiga rejects the token the session
/// is renewed or signed in again and the tool runs once more. Taiga refuses a rejected token
/// before it changes anything, so running the tool again repeats no write.
pub fn run_as_deployment(
    call: &Call<'_>,
    id: &str,
    mut arguments: Map<String, Value>,
    run: impl Fn(Map<String, Value>) -> ToolResult<Value>,
) -> ToolResult<Value> {
    match session::resume(call.platform, id) {
        Ok(_) => {}
        Err(err) if matches!(err.code, ErrorCode::SessionInvalid | ErrorCode::SessionExpired) => {
            sign_in_as_deployment(call, id)?;
        }
        Err(err) => return Err(err),
    }
    arguments.insert("session_id".to_owned(), Value::from(id));
    match run(arguments.clone()) {
        Err(err) if err.code == ErrorCode::SessionExpired => {
            recover(call, id)?;
            run(arguments)
        }
        outcome => outcome,
    }
}
