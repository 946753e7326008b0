//! Login protection: at most `login_rate_limit` attempts a minute per caller and per username,
//! then a lockout of `login_lockout_seconds`. Counters live in the host's store.

use crate::context::Settings;
use crate::error::{ErrorCode, ToolError, ToolResult};
use crate::platform::Platform;
use crate::session::store_error;

const WINDOW_SECONDS: u64 = 60;

/// The counters one login attempt is charged to.
pub struct LoginGuard<'a> {
    platform: &'a dyn Platform,
    settings: &'a Settings,
    subjects: [String; 2],
}

impl<'a> LoginGuard<'a> {
    /// A guard for `caller` logging in as `username` on `host`.
    pub fn new(platform: &'a dyn Platform, settings: &'a Settings, caller: &str, host: &str, username: &str) -> Self {
        Self {
            platform,
            settings,
            subjects: [
                format!("caller:{caller}"),
                format!("user:{host}|{}", username.trim().to_lowercase()),
            ],
        }
    }

    fn refused(&self, unlock_ms: u64) -> ToolError {
        let now = self.platform.now_ms();
        let retry_after = unlock_ms.saturating_sub(now).div_ceil(1000).max(1);
        ToolError::new(
            ErrorCode::RateLimited,
            format!("too many login attempts; try again in {retry_after} seconds"),
        )
        .with("retry_after_seconds", retry_after)
    }

    /// Charges one attempt. Refuses when a lockout is running, or starts one when this attempt is
    /// over the limit.
    pub fn attempt(&self) -> ToolResult<()> {
        for subject in &self.subjects {
            let lock = self
                .platform
                .store_get(&format!("login-lock:{subject}"))
                .map_err(store_error)?;
            if let Some(unlock_ms) = lock.and_then(|value| value.parse::<u64>().ok()) {
                return Err(self.refused(unlock_ms));
            }
        }
        let limit = i64::from(self.settings.login_rate_limit);
        for subject in &self.subjects {
            let attempts = self
                .platform
                .store_increment(&format!("login-attempts:{subject}"), 1, WINDOW_SECONDS)
                .map_err(store_error)?;
            if attempts > limit {
                let lockout = self.settings.login_lockout_seconds;
                let unlock_ms = self.platform.now_ms() + lockout * 1000;
                self.platform
                    .store_set(&format!("login-lock:{subject}"), &unlock_ms.to_string(), lockout)
                    .map_err(store_error)?;
                return Err(self.refused(unlock_ms));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    fn settings() -> Settings {
        Settings {
            login_rate_limit: 3,
            login_lockout_seconds: 900,
            ..Settings::default()
        }
    }

    #[test]
    fn the_attempt_over_the_limit_starts_a_lockout() {
        let platform = FakePlatform::new();
        let settings = settings();
        let guard = LoginGuard::new(&platform, &settings, "client-a", "https://t", "Alice");
        for _ in 0..3 {
            guard.attempt().unwrap();
        }
        let err = guard.attempt().unwrap_err();
        assert_eq!(err.code, ErrorCode::RateLimited);
        assert_eq!(err.details["retry_after_seconds"], 900);
        platform.set_now(600_000);
        assert_eq!(guard.attempt().unwrap_err().details["retry_after_seconds"], 300);
        platform.set_now(900_000);
        guard.attempt().unwrap();
    }

    #[test]
    fn usernames_are_limited_across_callers_and_callers_across_usernames() {
        let platform = FakePlatform::new();
        let settings = settings();
        for caller in ["a", "b", "c"] {
            LoginGuard::new(&platform, &settings, caller, "https://t", "alice")
                .attempt()
                .unwrap();
        }
        let other_caller = LoginGuard::new(&platform, &settings, "d", "https://t", "ALICE ");
        assert_eq!(other_caller.attempt().unwrap_err().code, ErrorCode::RateLimited);
        for user in ["u1", "u2", "u3"] {
            LoginGuard::new(&platform, &settings, "e", "https://t", user)
                .attempt()
                .unwrap();
        }
        let other_user = LoginGuard::new(&platform, &settings, "e", "https://t", "u4");
        assert_eq!(other_user.attempt().unwrap_err().code, ErrorCode::RateLimited);
    }

    #[test]
    fn the_window_is_a_minute() {
        let platform = FakePlatform::new();
        let settings = settings();
        let guard = LoginGuard::new(&platform, &settings, "a", "https://t", "bob");
        for _ in 0..3 {
            guard.attempt().unwrap();
        }
        platform.set_now(61_000);
        guard.attempt().unwrap();
    }
}
