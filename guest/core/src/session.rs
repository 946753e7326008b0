//! Session rules. The state lives in the host's store under `session:<id>`; the component keeps
//! nothing between calls.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, ToolError, ToolResult};
use crate::platform::{Platform, StoreError};
use crate::taiga::TaigaUrl;

/// How long an expired session stays in the store so that it is reported as expired, not unknown.
const EXPIRED_GRACE_SECONDS: u64 = 3600;

/// One logged-in session. It holds Taiga's tokens, so it never leaves the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Taiga username.
    pub username: String,
    /// Taiga user id.
    pub user_id: i64,
    /// Taiga origin the session talks to.
    pub taiga_url: String,
    /// Taiga access token.
    pub auth_token: String,
    /// Taiga refresh token.
    pub refresh_token: String,
    /// Creation time, ms since the epoch.
    pub created_at_ms: u64,
    /// Expiry time, ms since the epoch.
    pub expires_at_ms: u64,
    /// Last use, ms since the epoch.
    pub last_accessed_ms: u64,
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

/// Saves a new session and returns its id: a random UUID v4.
pub fn create(platform: &dyn Platform, session: &Session) -> ToolResult<String> {
    let id = uuid_v4(platform.random_bytes());
    let value = serde_json::to_string(session).map_err(|_| ToolError::internal("session did not serialise"))?;
    platform
        .store_set(&key(&id), &value, store_ttl(session, platform.now_ms()))
        .map_err(store_error)?;
    Ok(id)
}

/// Loads a live session and records the access. Unknown: SESSION_INVALID; past expiry: SESSION_EXPIRED.
pub fn resume(platform: &dyn Platform, session_id: &str) -> ToolResult<Session> {
    let now = platform.now_ms();
    let stored = platform.store_get(&key(session_id)).map_err(store_error)?;
    let Some(stored) = stored else {
        return Err(ToolError::new(
            ErrorCode::SessionInvalid,
            "this session id is unknown or was logged out; call login to get a new one",
        ));
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
    session.last_accessed_ms = now;
    let value = serde_json::to_string(&session).map_err(|_| ToolError::internal("session did not serialise"))?;
    platform
        .store_set(&key(session_id), &value, store_ttl(&session, now))
        .map_err(store_error)?;
    Ok(session)
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
        }
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
    fn resume_records_access_and_end_forgets() {
        let platform = FakePlatform::new();
        let id = create(&platform, &session(10_000)).unwrap();
        platform.set_now(4_000);
        assert_eq!(resume(&platform, &id).unwrap().last_accessed_ms, 4_000);
        assert!(end(&platform, &id).unwrap());
        assert_eq!(resume(&platform, &id).unwrap_err().code, ErrorCode::SessionInvalid);
    }

    #[test]
    fn expired_sessions_say_so_once_then_are_gone() {
        let platform = FakePlatform::new();
        let id = create(&platform, &session(10_000)).unwrap();
        platform.set_now(10_000);
        assert_eq!(resume(&platform, &id).unwrap_err().code, ErrorCode::SessionExpired);
        assert_eq!(resume(&platform, &id).unwrap_err().code, ErrorCode::SessionInvalid);
    }

    #[test]
    fn store_outage_is_a_clear_error() {
        let platform = FakePlatform::new();
        platform.break_store();
        let err = resume(&platform, "0f8fad5b-d9cb-469f-a165-70867728950e").unwrap_err();
        assert_eq!(err.code, ErrorCode::StoreUnavailable);
    }
}
