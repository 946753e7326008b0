//! Session tools: `login`, `logout`, `session_status`.

use serde_json::{Value, json};

use crate::call::Call;
use crate::error::{ToolError, ToolResult};
use crate::schema::{Field, Kind, SESSION};
use crate::session;
use crate::sign_in;
use crate::taiga::TaigaUrl;
use crate::time::format_rfc3339;
use crate::tool::{Annotations, Tool};
use crate::validate::Args;

pub const LOGIN: Tool = Tool {
    name: "login",
    title: "Log in to Taiga",
    description: "Log in to Taiga with a username (or email) and password. Returns a session_id to pass to every \
        other tool; Taiga's own token stays inside the bridge. Call this first, and again when a tool answers \
        SESSION_INVALID or SESSION_EXPIRED.",
    fields: &[
        Field::required(
            "username",
            Kind::Text { min: 1, max: 255 },
            "Taiga username or email address.",
        ),
        Field::required(
            "password",
            Kind::Text { min: 1, max: 256 },
            "Taiga password. It is sent to Taiga and never stored.",
        ),
        Field::optional(
            "host",
            Kind::Text { min: 1, max: 255 },
            "Taiga server, e.g. https://taiga.example.com. Defaults to the bridge's configured server; it must be on the bridge's allow-list.",
        ),
    ],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "session_id": {"type": "string", "description": "Pass this to every other tool."},
                "username": {"type": "string"},
                "expires_at": {"type": "string", "format": "date-time"}
            },
            "required": ["session_id", "username", "expires_at"]
        })
    },
    annotations: Annotations {
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: true,
    },
    run: login,
};

pub const LOGOUT: Tool = Tool {
    name: "logout",
    title: "Log out",
    description: "End a session at once. Later calls with this session_id answer SESSION_INVALID.",
    fields: &[SESSION],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {"logged_out": {"type": "boolean", "description": "False when the session had already ended."}},
            "required": ["logged_out"]
        })
    },
    annotations: Annotations {
        read_only: false,
        destructive: false,
        idempotent: true,
        open_world: false,
    },
    run: logout,
};

pub const SESSION_STATUS: Tool = Tool {
    name: "session_status",
    title: "Session status",
    description: "Check that a session is still active: who it belongs to, when it was created, last used and when it expires.",
    fields: &[SESSION],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "active": {"type": "boolean"},
                "username": {"type": "string"},
                "taiga_url": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
                "expires_at": {"type": "string", "format": "date-time"},
                "last_accessed": {"type": "string", "format": "date-time"}
            },
            "required": ["active", "username", "taiga_url", "created_at", "expires_at", "last_accessed"]
        })
    },
    annotations: Annotations {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    },
    run: session_status,
};

fn login(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let settings = &call.context.settings;
    let host = args.text("host").unwrap_or(&settings.default_taiga_url);
    let base = TaigaUrl::parse(host).map_err(|reason| ToolError::invalid("host", reason))?;
    let session = sign_in::with_password(
        call,
        &base,
        args.required_text("username")?,
        args.required_text("password")?,
    )?;
    let session_id = session::create(call.platform, &session, settings.max_sessions_per_user)?;
    Ok(json!({
        "session_id": session_id,
        "username": session.username,
        "expires_at": format_rfc3339(session.expires_at_ms),
    }))
}

fn logout(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let existed = session::end(call.platform, args.required_text("session_id")?)?;
    Ok(json!({"logged_out": existed}))
}

fn session_status(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let session = call.session(args)?;
    Ok(json!({
        "active": true,
        "username": session.username,
        "taiga_url": session.taiga_url,
        "created_at": format_rfc3339(session.created_at_ms),
        "expires_at": format_rfc3339(session.expires_at_ms),
        "last_accessed": format_rfc3339(session.last_accessed_ms),
    }))
}
