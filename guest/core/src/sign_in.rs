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
use crate::session::{self, Session, store_error};
use crate::taiga::TaigaUrl;

/// Taiga's answer when `/auth` does not know the login `type` (recordings 4 and 178).
const UNKNOWN_LOGIN_TYPE: &str = "invalid login type";

/// Which sign-ins count against the login limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counting {
    /// Every attempt, before it is made: a caller's `login`.
    Attempts,
    /// Only those Taiga refuses: the deployment's own identity, whose successful sign-ins are no
    /// guess at a password.
    Failures,
}

/// Signs in as `username` with `password`, posting the deployment's login type, after charging
/// the attempt to the login rate limits.
pub fn with_password(call: &Call<'_>, base: &TaigaUrl, username: &str, password: &str) -> ToolResult<Session> {
    sign_in(call, base, username, password, Counting::Attempts)
}

fn sign_in(
    call: &Call<'_>,
    base: &TaigaUrl,
    username: &str,
    password: &str,
    counting: Counting,
) -> ToolResult<Session> {
    let settings = &call.context.settings;
    let guard = LoginGuard::new(call.platform, settings, &call.context.caller, base.as_str(), username)?;
    match counting {
        Counting::Attempts => guard.attempt()?,
        Counting::Failures => guard.check()?,
    }
    let login_type = settings.login_type.as_str();
    let answer = call
        .taiga(base)
        .post(
            "/auth",
            &json!({"type": login_type, "username": username, "password": password}),
            "the login endpoint",
        )
        .map_err(|err| {
            let refusal = login_refusal(err, login_type);
            if counting == Counting::Failures && refusal.code == ErrorCode::InvalidCredentials {
                // Counted, and possibly the start of a lockout; the refusal itself is the answer.
                let _ = guard.attempt();
            }
            refusal
        })?;
    if let Some(email) = answer["email"].as_str() {
        guard.remember_alias(email, answer["username"].as_str().unwrap_or(username))?;
    }
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
        deployment: false,
    }
}

/// How long a call waits for another call that is signing the deployment identity in.
const SIGN_IN_WAIT_POLL_MS: u64 = 100;

/// How long a failed sign-in of the identity answers the calls that waited for it, in seconds:
/// they get its error instead of each trying (and each counting a failed login) in turn.
const FAILURE_MEMORY_SECONDS: u64 = 5;

/// The store key under which the identity's session id is kept. The key is named by the Taiga
/// server, the login type and the user (or a digest of the token); the id under it is random, so
/// nobody can compute it, and a changed identity finds another key.
pub(crate) fn identity_key(settings: &crate::context::Settings) -> Option<String> {
    let who = match settings.identity.as_ref()? {
        Identity::Password { username, .. } => format!("password|{}", username.trim().to_lowercase()),
        Identity::Token { auth_token, .. } => format!("token|{auth_token}"),
    };
    let text = format!("{}|{}|{who}", settings.default_taiga_url, settings.login_type);
    Some(format!("identity:{:032x}", fnv1a_128(text.as_bytes())))
}

/// FNV-1a, 128 bits: a stable digest for a store key, where no adversary chooses the input.
fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    bytes
        .iter()
        .fold(OFFSET, |hash, byte| (hash ^ u128::from(*byte)).wrapping_mul(PRIME))
}

/// The deployment identity's session id: random, made once and kept in the store (so that every
/// call and every replica finds the same one), never derived from anything a caller knows.
fn deployment_session_id(call: &Call<'_>) -> ToolResult<String> {
    let settings = &call.context.settings;
    let key = identity_key(settings).ok_or_else(|| ToolError::internal("no deployment identity"))?;
    // Kept as long as a session can live; a session that ends is signed in again under the same id.
    let ttl = settings.session_ttl_seconds.saturating_mul(2).max(3600);
    loop {
        if let Some(id) = call.platform.store_get(&key).map_err(store_error)? {
            return Ok(id);
        }
        let id = session::uuid_v4(call.platform.random_bytes());
        if call
            .platform
            .store_compare_and_swap(&key, None, Some(&id), ttl)
            .map_err(store_error)?
        {
            return Ok(id);
        }
    }
}

/// Signs the deployment identity in and stores its session under `id`. Its own sign-ins count
/// against the login limits only when Taiga refuses them.
fn sign_in_as_deployment(call: &Call<'_>, id: &str) -> ToolResult<()> {
    let settings = &call.context.settings;
    let base =
        TaigaUrl::parse(&settings.default_taiga_url).map_err(|reason| ToolError::invalid("TAIGA_API_URL", reason))?;
    let mut session = match settings.identity.as_ref() {
        Some(Identity::Password { username, password }) => {
            sign_in(call, &base, username, password, Counting::Failures)?
        }
        Some(Identity::Token {
            auth_token,
            refresh_token,
        }) => with_token(call, &base, auth_token, refresh_token.as_deref())?,
        None => return Err(ToolError::internal("no deployment identity")),
    };
    session.deployment = true;
    session::update(call.platform, id, &session)
}

/// The identity's session as stored, if it is live.
fn live(call: &Call<'_>, id: &str) -> ToolResult<Option<Session>> {
    match session::resume(call.platform, id) {
        Ok(session) => Ok(Some(session)),
        Err(err) if matches!(err.code, ErrorCode::SessionInvalid | ErrorCode::SessionExpired) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Brings the identity's session to a state `done` accepts, one call at a time across every call
/// and replica, and returns it: the first takes a lock in the store and runs `repair`; the others
/// wait for its outcome (its session, or for a few seconds its error) instead of signing in
/// themselves, which would trip Taiga's and the bridge's login limits.
fn single_flight(
    call: &Call<'_>,
    id: &str,
    done: impl Fn(Option<&Session>) -> bool,
    repair: impl Fn() -> ToolResult<()>,
) -> ToolResult<Option<Session>> {
    let platform = call.platform;
    let lock = format!("identity-lock:{id}");
    let failure = format!("identity-failure:{id}");
    let settings = &call.context.settings;
    // The holder's sign-in is at most two Taiga requests (a refresh, then a sign-in).
    let wait_ms = u64::from(settings.request_timeout_ms).saturating_mul(2);
    let lock_ttl = wait_ms / 1000 + 1;
    let deadline = platform.now_ms().saturating_add(wait_ms);
    let token = session::uuid_v4(platform.random_bytes());
    loop {
        let current = live(call, id)?;
        if done(current.as_ref()) {
            return Ok(current);
        }
        if let Some(body) = platform.store_get(&failure).map_err(store_error)? {
            return Err(ToolError::from_body(&body));
        }
        if platform
            .store_compare_and_swap(&lock, None, Some(&token), lock_ttl)
            .map_err(store_error)?
        {
            // The holder before may have finished between the look above and the lock.
            let current = live(call, id)?;
            let outcome = if done(current.as_ref()) {
                Ok(current)
            } else {
                repair().and_then(|()| live(call, id))
            };
            if let Err(err) = &outcome {
                let _ = platform.store_set(&failure, &err.to_body().to_string(), FAILURE_MEMORY_SECONDS);
            }
            let _ = platform.store_compare_and_swap(&lock, Some(&token), None, lock_ttl);
            return outcome;
        }
        if platform.now_ms() >= deadline {
            return Err(ToolError::new(
                ErrorCode::Timeout,
                "another call is still signing the deployment's Taiga user in; try again shortly",
            ));
        }
        platform.sleep_ms(SIGN_IN_WAIT_POLL_MS);
    }
}

/// Taiga rejected `rejected`, the session's token: renew it with the refresh token when the
/// session has one, otherwise sign in again; unless another call already did.
fn recover(call: &Call<'_>, id: &str, rejected: &str) -> ToolResult<()> {
    single_flight(
        call,
        id,
        |current| current.is_some_and(|session| session.auth_token != rejected),
        || {
            if let Ok(mut stored) = session::resume(call.platform, id)
                && !stored.refresh_token.is_empty()
                && api::renew(call, &mut stored).is_ok()
            {
                return session::update(call.platform, id, &stored);
            }
            session::end(call.platform, id)?;
            sign_in_as_deployment(call, id)
        },
    )
    .map(drop)
}

/// Runs a tool for a call without a `session_id` as the deployment's identity: its session (signed
/// in on first use, by one call while the others wait) is passed as the `session_id`, and when
/// Taiga rejects the token the session is renewed or signed in again and the tool runs once more.
/// Taiga refuses a rejected token before it changes anything, so running the tool again repeats
/// no write.
pub fn run_as_deployment(
    call: &Call<'_>,
    mut arguments: Map<String, Value>,
    run: impl Fn(Map<String, Value>) -> ToolResult<Value>,
) -> ToolResult<Value> {
    let id = deployment_session_id(call)?;
    // The token this call uses: the one to replace if Taiga rejects it.
    let used = single_flight(
        call,
        &id,
        |current| current.is_some(),
        || sign_in_as_deployment(call, &id),
    )?
    .map(|session| session.auth_token)
    .unwrap_or_default();
    arguments.insert("session_id".to_owned(), Value::from(id.as_str()));
    match run(arguments.clone()) {
        Err(err) if err.code == ErrorCode::SessionExpired => {
            recover(call, &id, &used)?;
            run(arguments)
        }
        outcome => outcome,
    }
}
