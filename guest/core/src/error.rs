//! The one error type of the tool layer and its wire codes.

use serde_json::{Map, Value, json};

/// Machine-readable error codes, as they appear in `{code, message, details}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// An argument is missing, of the wrong type, out of bounds or unknown.
    InvalidInput,
    /// Taiga refused the username or password.
    InvalidCredentials,
    /// The session id is unknown or was logged out.
    SessionInvalid,
    /// The session existed but has expired.
    SessionExpired,
    /// Taiga says the user may not do this.
    PermissionDenied,
    /// The resource does not exist (or is not visible).
    NotFound,
    /// The Taiga host is not on the bridge's allow-list.
    HostNotAllowed,
    /// Someone changed the resource since the given version.
    VersionConflict,
    /// Too many attempts; retry later.
    RateLimited,
    /// The call as a whole ran past its time limit (the host reports it).
    Timeout,
    /// Taiga could not be reached or answered 5xx.
    TaigaUnavailable,
    /// Taiga's TLS certificate was refused (untrusted CA, expired, wrong name).
    CertificateRejected,
    /// Taiga answered in an unexpected way.
    TaigaError,
    /// The bridge's session store cannot be reached.
    StoreUnavailable,
    /// A fault inside the bridge.
    Internal,
}

impl ErrorCode {
    const ALL: [Self; 15] = [
        Self::InvalidInput,
        Self::InvalidCredentials,
        Self::SessionInvalid,
        Self::SessionExpired,
        Self::PermissionDenied,
        Self::NotFound,
        Self::HostNotAllowed,
        Self::VersionConflict,
        Self::RateLimited,
        Self::Timeout,
        Self::TaigaUnavailable,
        Self::CertificateRejected,
        Self::TaigaError,
        Self::StoreUnavailable,
        Self::Internal,
    ];

    /// The code of a wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == name)
    }

    /// The wire name, e.g. `INVALID_INPUT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "INVALID_INPUT",
            Self::InvalidCredentials => "INVALID_CREDENTIALS",
            Self::SessionInvalid => "SESSION_INVALID",
            Self::SessionExpired => "SESSION_EXPIRED",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::NotFound => "NOT_FOUND",
            Self::HostNotAllowed => "HOST_NOT_ALLOWED",
            Self::VersionConflict => "VERSION_CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::Timeout => "TIMEOUT",
            Self::TaigaUnavailable => "TAIGA_UNAVAILABLE",
            Self::CertificateRejected => "CERTIFICATE_REJECTED",
            Self::TaigaError => "TAIGA_ERROR",
            Self::StoreUnavailable => "STORE_UNAVAILABLE",
            Self::Internal => "INTERNAL",
        }
    }
}

/// A tool failure: returned to the client as an `isError` result, never as a protocol error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ToolError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What happened and what to do next, for the model. Never holds a secret.
    pub message: String,
    /// Structured specifics (the field at fault, Taiga's field messages, retry delays).
    pub details: Map<String, Value>,
}

impl ToolError {
    /// An error without details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Map::new(),
        }
    }

    /// Adds one detail.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// An INVALID_INPUT error that names the field at fault.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(ErrorCode::InvalidInput, format!("{field}: {message}")).with("field", field)
    }

    /// An INTERNAL error; the message must not carry input or secrets.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    /// The error a body of [`Self::to_body`] stands for (kept in the store to answer other calls);
    /// anything else is an INTERNAL error.
    pub fn from_body(text: &str) -> Self {
        let body: Value = serde_json::from_str(text).unwrap_or_default();
        match body["code"].as_str().and_then(ErrorCode::from_name) {
            Some(code) => Self {
                code,
                message: body["message"].as_str().unwrap_or_default().to_owned(),
                details: body["details"].as_object().cloned().unwrap_or_default(),
            },
            None => Self::internal("an earlier failure could not be read back"),
        }
    }

    /// The structured body `{code, message, details}`.
    pub fn to_body(&self) -> Value {
        json!({
            "code": self.code.as_str(),
            "message": self.message,
            "details": self.details,
        })
    }
}

/// Result of a tool handler.
pub type ToolResult<T> = Result<T, ToolError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_code_message_and_details() {
        let body = ToolError::invalid("project_id", "must be a positive integer").to_body();
        assert_eq!(body["code"], "INVALID_INPUT");
        assert_eq!(body["message"], "project_id: must be a positive integer");
        assert_eq!(body["details"]["field"], "project_id");
    }

    #[test]
    fn every_code_and_body_reads_back() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_name(code.as_str()), Some(code));
            let error = ToolError::new(code, "why").with("retry_after_seconds", 3);
            assert_eq!(ToolError::from_body(&error.to_body().to_string()), error);
        }
        assert_eq!(ToolError::from_body("{}").code, ErrorCode::Internal);
    }

    #[test]
    fn display_starts_with_the_code() {
        let err = ToolError::new(ErrorCode::NotFound, "no project 9");
        assert_eq!(err.to_string(), "NOT_FOUND: no project 9");
    }
}
