//! Login protection: at most `login_rate_limit` attempts a minute per caller and per Taiga user,
//! then a lockout of `login_lockout_seconds`. Counters live in the host's store.
//!
//! A Taiga user is counted as Taiga finds it: taiga-back looks a login up by username or email
//! with `iexact`, which PostgreSQL compares in upper case (so `admın`, with a dotless ı, is
//! `admin`), and an email address signs in its user. Names are folded to upper case; an email the
//! bridge has seen belong to a user (Taiga's login answer names both) counts as that user.

use crate::context::Settings;
use crate::error::{ErrorCode, ToolError, ToolResult};
use crate::platform::Platform;
use crate::session::store_error;

const WINDOW_SECONDS: u64 = 60;

/// How long an email address is remembered as its user's, in seconds (30 days).
const ALIAS_SECONDS: u64 = 30 * 24 * 3600;

/// The counters one login attempt is charged to.
pub struct LoginGuard<'a> {
    platform: &'a dyn Platform,
    settings: &'a Settings,
    host: String,
    subjects: [String; 2],
}

/// A login name as Taiga's database compares it.
fn fold(name: &str) -> String {
    name.trim().to_uppercase()
}

fn alias_key(host: &str, email: &str) -> String {
    format!("login-alias:{host}|{}", fold(email))
}

impl<'a> LoginGuard<'a> {
    /// A guard for `caller` logging in as `username` on `host`.
    pub fn new(
        platform: &'a dyn Platform,
        settings: &'a Settings,
        caller: &str,
        host: &str,
        username: &str,
    ) -> ToolResult<Self> {
        let mut user = fold(username);
        // Taiga's usernames hold no `@`: only an email can be another name for a user.
        if username.contains('@')
            && let Some(owner) = platform.store_get(&alias_key(host, username)).map_err(store_error)?
        {
            user = owner;
        }
        Ok(Self {
            platform,
            settings,
            host: host.to_owned(),
            subjects: [format!("caller:{caller}"), format!("user:{host}|{user}")],
        })
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

    /// Refuses while a lockout of the caller or the user is running; charges nothing.
    pub fn check(&self) -> ToolResult<()> {
        for subject in &self.subjects {
            let lock = self
                .platform
                .store_get(&format!("login-lock:{subject}"))
                .map_err(store_error)?;
            if let Some(unlock_ms) = lock.and_then(|value| value.parse::<u64>().ok()) {
                return Err(self.refused(unlock_ms));
            }
        }
        Ok(())
    }

    /// Charges one attempt. Refuses when a lockout is running, or starts one when this attempt is
    /// over the limit.
    pub fn attempt(&self) -> ToolResult<()> {
        self.check()?;
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

    /// Remembers that `email` signs in `username` (from Taiga's login answer), so that attempts
    /// through the email count as the user's.
    pub fn remember_alias(&self, email: &str, username: &str) -> ToolResult<()> {
        if email.trim().is_empty() {
            return Ok(());
        }
        self.platform
            .store_set(&alias_key(&self.host, email), &fold(username), ALIAS_SECONDS)
            .map_err(store_error)
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
        let guard = LoginGuard::new(&platform, &settings, "client-a", "https://t", "Alice").unwrap();
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
                .unwrap()
                .attempt()
                .unwrap();
        }
        let other_caller = LoginGuard::new(&platform, &settings, "d", "https://t", "ALICE ").unwrap();
        assert_eq!(other_caller.attempt().unwrap_err().code, ErrorCode::RateLimited);
        for user in ["u1", "u2", "u3"] {
            LoginGuard::new(&platform, &settings, "e", "https://t", user)
                .unwrap()
                .attempt()
                .unwrap();
        }
        let other_user = LoginGuard::new(&platform, &settings, "e", "https://t", "u4").unwrap();
        assert_eq!(other_user.attempt().unwrap_err().code, ErrorCode::RateLimited);
    }

    #[test]
    fn the_window_is_a_minute() {
        let platform = FakePlatform::new();
        let settings = settings();
        let guard = LoginGuard::new(&platform, &settings, "a", "https://t", "bob").unwrap();
        for _ in 0..3 {
            guard.attempt().unwrap();
        }
        platform.set_now(61_000);
        guard.attempt().unwrap();
    }

    #[test]
    fn a_user_is_counted_as_taiga_finds_it_by_any_of_its_names() {
        let platform = FakePlatform::new();
        let settings = settings();
        let guard =
            |caller: &str, name: &str| LoginGuard::new(&platform, &settings, caller, "https://t", name).unwrap();
        guard("a", "admin")
            .remember_alias("Admin@Example.com", "admin")
            .unwrap();
        // PostgreSQL's upper case of the dotless ı is I; an email signs its user in.
        for (caller, name) in [("a", "admın"), ("b", "ADMIN"), ("c", "admin@example.COM")] {
            guard(caller, name).attempt().unwrap();
        }
        let err = guard("d", "Admin").attempt().unwrap_err();
        assert_eq!(
            err.code,
            ErrorCode::RateLimited,
            "four attempts at one user by three names"
        );
        assert_eq!(
            guard("e", "admin@example.com").check().unwrap_err().code,
            ErrorCode::RateLimited
        );
        guard("f", "other@example.com").attempt().unwrap();
    }

    #[test]
    fn check_charges_nothing() {
        let platform = FakePlatform::new();
        let settings = settings();
        let guard = LoginGuard::new(&platform, &settings, "a", "https://t", "carol").unwrap();
        for _ in 0..10 {
            guard.check().unwrap();
        }
        for _ in 0..3 {
            guard.attempt().unwrap();
        }
    }
}
