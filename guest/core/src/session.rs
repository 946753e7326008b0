//! Session rules. The state lives in the host's store under `session:<id>`; the component keeps
//! nothing between calls.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, ToolError, ToolResult};
use crate::platform::{Platform, StoreError};
use crate::taiga::TaigaUrl;

/// How long an expired session stays in the store so that it is reported as expired, not unknown.
const EXPIRED_GRACE_SECONDS: u64 = 3600;

/// Taiga's access tokens live 24 hours; renew them an hour before that.
pub const TOKEN_REFRESH_AFTER_MS: u64 = 23 * 3600 * 1000;

/// Accesses are recorded to the minute: a call within a minute of the recorded access reads the
/// session without writing it back, which spares most calls a store write (a round trip with Redis).
pub const ACCESS_RESOLUTION_MS: u64 = 60_000;

/// Attempts at updating a user's session index before giving up on a contended key.
const INDEX_RETRIES: usize = 8;

/// One logged-in session. It holds Taiga's tokens, so it never leaves the store.
///
/// Stored under one-letter keys: a session record is mostly Taiga's two tokens, and every other
/// byte is paid once per live session. The aliases read records written under the long names.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Taiga username.
    #[serde(rename = "u", alias = "username")]
    pub username: String,
    /// Taiga user id.
    #[serde(rename = "i", alias = "user_id")]
    pub user_id: i64,
    /// Taiga origin the session talks to.
    #[serde(rename = "h", alias = "taiga_url")]
    pub taiga_url: String,
    /// Taiga access token.
    #[serde(rename = "a", alias = "auth_token")]
    pub auth_token: String,
    /// Taiga refresh token.
    #[serde(rename = "r", alias = "refresh_token")]
    pub refresh_token: String,
    /// Creation time, ms since the epoch.
    #[serde(rename = "c", alias = "created_at_ms")]
    pub created_at_ms: u64,
    /// Expiry time, ms since the epoch.
    #[serde(rename = "e", alias = "expires_at_ms")]
    pub expires_at_ms: u64,
    /// Last use, ms since the epoch.
    #[serde(rename = "l", alias = "last_accessed_ms")]
    pub last_accessed_ms: u64,
    /// When Taiga issued the current access token, ms since the epoch.
    #[serde(default, rename = "t", alias = "token_issued_ms")]
    pub token_issued_ms: u64,
    /// The deployment identity's session: only calls made as that identity use it, never a
    /// caller naming it as a `session_id`.
    #[serde(default, rename = "d", skip_serializing_if = "std::ops::Not::not")]
    pub deployment: bool,
}

impl std::fmt::Debug for Session {
    /// Everything but Taiga's tokens.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("username", &self.username)
            .field("user_id", &self.user_id)
            .field("taiga_url", &self.taiga_url)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("deployment", &self.deployment)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The Taiga origin, as stored at login.
    pub fn taiga_url(&self) -> ToolResult<TaigaUrl> {
        TaigaUrl::parse(&self.taiga_url).map_err(|_| ToolError::internal("stored session has a bad Taiga URL"))
    }
}

fn key(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// Maps a store failure to a tool error that says what happened without internals.
pub fn store_error(err: StoreError) -> ToolError {
    let reason = match &err {
        StoreError::Unavailable(_) => "unavailable",
        StoreError::Rejected(_) => "rejected",
    };
    ToolError::new(
        ErrorCode::StoreUnavailable,
        "the bridge's session store cannot be reached; try again shortly",
    )
    .with("reason", reason)
}

fn store_ttl(session: &Session, now_ms: u64) -> u64 {
    session.expires_at_ms.saturating_sub(now_ms) / 1000 + EXPIRED_GRACE_SECONDS
}

fn save(platform: &dyn Platform, session_id: &str, session: &Session) -> ToolResult<()> {
    let value = serde_json::to_string(session).map_err(|_| ToolError::internal("session did not serialise"))?;
    platform
        .store_set(&key(session_id), &value, store_ttl(session, platform.now_ms()))
        .map_err(store_error)
}

/// Saves a new session and returns its id: a random UUID v4. A user holds at most `max_per_user`
/// sessions per Taiga host: beyond that, the oldest is ended.
pub fn create(platform: &dyn Platform, session: &Session, max_per_user: u32) -> ToolResult<String> {
    let id = uuid_v4(platform.random_bytes());
    save(platform, &id, session)?;
    // A session whose index could not be updated is nobody's: it must not stay in the store
    // holding Taiga's tokens.
    index(platform, &id, session, max_per_user).inspect_err(|_| {
        let _ = platform.store_delete(&key(&id));
    })?;
    Ok(id)
}

/// Adds `id` to its user's index of sessions, ending the oldest beyond `max_per_user`.
fn index(platform: &dyn Platform, id: &str, session: &Session, max_per_user: u32) -> ToolResult<()> {
    let index = format!(
        "user-sessions:{}|{}",
        session.taiga_url,
        session.username.to_lowercase()
    );
    let ttl = store_ttl(session, platform.now_ms());
    for _ in 0..INDEX_RETRIES {
        let current = platform.store_get(&index).map_err(store_error)?;
        let mut ids: Vec<String> = current
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default();
        let mut live = Vec::with_capacity(ids.len() + 1);
        for existing in ids.drain(..) {
            if platform.store_get(&key(&existing)).map_err(store_error)?.is_some() {
                live.push(existing);
            }
        }
        live.push(id.to_owned());
        let excess = live.len().saturating_sub(max_per_user.max(1) as usize);
        let dropped: Vec<String> = live.drain(..excess).collect();
        let updated = serde_json::to_string(&live).map_err(|_| ToolError::internal("index did not serialise"))?;
        if platform
            .store_compare_and_swap(&index, current.as_deref(), Some(&updated), ttl)
            .map_err(store_error)?
        {
            for old in dropped {
                platform.store_delete(&key(&old)).map_err(store_error)?;
            }
            return Ok(());
        }
    }
    Err(ToolError::new(
        ErrorCode::StoreUnavailable,
        "too many simultaneous logins for this user; try again",
    ))
}

/// Replaces the session's Taiga tokens after a refresh.
pub fn update(platform: &dyn Platform, session_id: &str, session: &Session) -> ToolResult<()> {
    save(platform, session_id, session)
}

/// Loads a live session and records the access (to [`ACCESS_RESOLUTION_MS`]). Unknown:
/// SESSION_INVALID; past expiry: SESSION_EXPIRED.
pub fn resume(platform: &dyn Platform, session_id: &str) -> ToolResult<Session> {
    let now = platform.now_ms();
    let stored = platform.store_get(&key(session_id)).map_err(store_error)?;
    let Some(stored) = stored else {
        return Err(unknown());
    };
    let mut session: Session =
        serde_json::from_str(&stored).map_err(|_| ToolError::internal("stored session is unreadable"))?;
    if now >= session.expires_at_ms {
        platform.store_delete(&key(session_id)).map_err(store_error)?;
        return Err(ToolError::new(
            ErrorCode::SessionExpired,
            "this session has expired; call login again",
        ));
    }
    if now.saturating_sub(session.last_accessed_ms) >= ACCESS_RESOLUTION_MS {
        session.last_accessed_ms = now;
        save(platform, session_id, &session)?;
    }
    Ok(session)
}

/// The error for a session id nobody may use: unknown, logged out, or not the caller's to name.
pub fn unknown() -> ToolError {
    ToolError::new(
        ErrorCode::SessionInvalid,
        "this session id is unknown or was logged out; call login to get a new one",
    )
}

/// Whether `session_id` names the deployment identity's session.
pub fn is_deployment(platform: &dyn Platform, session_id: &str) -> ToolResult<bool> {
    let stored = platform.store_get(&key(session_id)).map_err(store_error)?;
    Ok(stored
        .and_then(|text| serde_json::from_str::<Session>(&text).ok())
        .is_some_and(|session| session.deployment))
}

/// Ends a session at once; whether it existed.
pub fn end(platform: &dyn Platform, session_id: &str) -> ToolResult<bool> {
    platform.store_delete(&key(session_id)).map_err(store_error)
}

/// Formats 16 random bytes as a version 4, variant 1 UUID.
pub fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;
    use crate::validate::is_uuid;

    fn session(expires_at_ms: u64) -> Session {
        Session {
            username: "alice".into(),
            user_id: 7,
            taiga_url: "https://taiga.example".into(),
            auth_token: "tok".into(),
            refresh_token: "ref".into(),
            created_at_ms: 0,
            expires_at_ms,
            last_accessed_ms: 0,
            token_issued_ms: 0,
            deployment: false,
        }
    }

    #[test]
    fn records_are_compact_and_old_records_still_read() {
        let record = serde_json::to_string(&session(10_000)).unwrap();
        assert_eq!(
            record,
            r#"{"u":"alice","i":7,"h":"https://taiga.example","a":"tok","r":"ref","c":0,"e":10000,"l":0,"t":0}"#
        );
        let old = r#"{"username":"alice","user_id":7,"taiga_url":"https://taiga.example","auth_token":"tok",
            "refresh_token":"ref","created_at_ms":0,"expires_at_ms":10000,"last_accessed_ms":0}"#;
        assert_eq!(serde_json::from_str::<Session>(old).unwrap(), session(10_000));
    }

    #[test]
    fn a_session_never_shows_its_tokens() {
        let mut secret = session(10_000);
        secret.auth_token = "eyJ-access-secret".into();
        secret.refresh_token = "eyJ-refresh-secret".into();
        let shown = format!("{secret:?}");
        assert!(shown.contains("alice") && !shown.contains("secret"), "{shown}");
    }

    #[test]
    fn uuid_v4_has_version_and_variant_bits() {
        let id = uuid_v4([0xff; 16]);
        assert!(is_uuid(&id));
        assert_eq!(&id[14..15], "4");
        assert_eq!(&id[19..20], "b");
        assert_ne!(uuid_v4([1; 16]), uuid_v4([2; 16]));
    }

    #[test]
    fn resume_records_access_to_the_minute_and_end_forgets() {
        let platform = FakePlatform::new();
        let id = create(&platform, &session(200_000), 5).unwrap();
        let stored = || platform.store_get(&key(&id)).unwrap();
        let at_login = stored();
        platform.set_now(ACCESS_RESOLUTION_MS - 1);
        assert_eq!(resume(&platform, &id).unwrap().last_accessed_ms, 0);
        assert_eq!(stored(), at_login, "an access within the minute writes nothing");
        platform.set_now(ACCESS_RESOLUTION_MS + 4_000);
        assert_eq!(
            resume(&platform, &id).unwrap().last_accessed_ms,
            ACCESS_RESOLUTION_MS + 4_000
        );
        assert_ne!(stored(), at_login);
        assert!(end(&platform, &id).unwrap());
        assert_eq!(resume(&platform, &id).unwrap_err().code, ErrorCode::SessionInvalid);
    }

    #[test]
    fn expired_sessions_say_so_once_then_are_gone() {
        let platform = FakePlatform::new();
        let id = create(&platform, &session(10_000), 5).unwrap();
        platform.set_now(10_000);
        assert_eq!(resume(&platform, &id).unwrap_err().code, ErrorCode::SessionExpired);
        assert_eq!(resume(&platform, &id).unwrap_err().code, ErrorCode::SessionInvalid);
    }

    #[test]
    fn the_oldest_session_goes_beyond_the_per_user_limit() {
        let platform = FakePlatform::new();
        let ids: Vec<String> = (0..3)
            .map(|_| create(&platform, &session(10_000), 2).unwrap())
            .collect();
        assert_eq!(resume(&platform, &ids[0]).unwrap_err().code, ErrorCode::SessionInvalid);
        assert!(resume(&platform, &ids[1]).is_ok());
        assert!(resume(&platform, &ids[2]).is_ok());
        end(&platform, &ids[1]).unwrap();
        let fourth = create(&platform, &session(10_000), 2).unwrap();
        assert!(
            resume(&platform, &ids[2]).is_ok(),
            "a logged-out session frees its place"
        );
        assert!(resume(&platform, &fourth).is_ok());
    }

    #[test]
    fn a_session_whose_index_cannot_be_kept_is_not_kept_either() {
        let platform = FakePlatform::new();
        platform.break_compare_and_swap();
        let err = create(&platform, &session(10_000), 5).unwrap_err();
        assert_eq!(err.code, ErrorCode::StoreUnavailable);
        // The id the failed call made (the fake's randomness is a counter: the first is all ones).
        let id = uuid_v4([1; 16]);
        assert_eq!(
            platform.store_get(&key(&id)).unwrap(),
            None,
            "no session holds Taiga's tokens"
        );
    }

    #[test]
    fn store_outage_is_a_clear_error() {
        let platform = FakePlatform::new();
        platform.break_store();
        let err = resume(&platform, "0f8fad5b-d9cb-469f-a165-70867728950e").unwrap_err();
        assert_eq!(err.code, ErrorCode::StoreUnavailable);
    }
}
