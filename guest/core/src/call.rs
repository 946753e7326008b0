//! What a running tool may use: the platform (HTTP, store, clock, randomness) and the call's
//! context, with a Taiga client built from the call's settings.

use crate::context::CallContext;
use crate::error::ToolResult;
use crate::platform::Platform;
use crate::session::Session;
use crate::taiga::{Taiga, TaigaUrl};
use crate::validate::Args;

/// What a running tool may use.
pub struct Call<'a> {
    /// HTTP, store, clock, randomness.
    pub platform: &'a dyn Platform,
    /// Caller, namespace and settings.
    pub context: &'a CallContext,
    /// Whether the call acts as the deployment's identity (it named no `session_id`).
    pub as_deployment: bool,
}

impl Call<'_> {
    /// A client for `base` with this call's timeouts and limits.
    pub fn taiga<'b>(&'b self, base: &'b TaigaUrl) -> Taiga<'b, dyn Platform + 'b> {
        let settings = &self.context.settings;
        Taiga::new(
            self.platform,
            base,
            settings.request_timeout_ms,
            settings.max_response_bytes,
        )
    }

    /// Resumes the session named by the `session_id` argument. The deployment identity's session
    /// is not a caller's to name: to one that does, it is unknown.
    pub fn session(&self, args: &Args) -> ToolResult<Session> {
        let session = crate::session::resume(self.platform, args.required_text("session_id")?)?;
        if session.deployment && !self.as_deployment {
            return Err(crate::session::unknown());
        }
        Ok(session)
    }
}
