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
    description: "Sign in first, and again on SESSION_INVALID or SESSION_EXPIRED; returns the session_id other \
        tools take. Leave out the password: the user then signs in on a page the bridge opens, out of this \
        conversation. Ask for it only if the call says this client cannot open that page.",
    fields: &[
        Field::optional(
            "username",
            Kind::Text { min: 1, max: 255 },
            "Taiga username or email (with a password; else typed on the sign-in page).",
        ),
        Field::optional(
            "password",
            Kind::Text { min: 1, max: 256 },
            "Leave out to sign in on the bridge's page. Sent to Taiga only, never stored.",
        ),
        Field::optional(
            "host",
            Kind::Text { min: 1, max: 255 },
            "Taiga server URL (default: the bridge's). Must be on its allow-list.",
        ),
    ],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "session_id": {"type": "string"},
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
    description: "End the session now; later calls with its session_id answer SESSION_INVALID.",
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
    description: "Whether the session is active, whose it is, when it began, was last used and ends.",
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
    let Some(password) = args.text("password") else {
        return Err(ToolError::invalid(
            "password",
            "this client cannot open the bridge's sign-in page (it does not support URL elicitation): give the \
             password, or have the operator set TAIGA_USERNAME and TAIGA_PASSWORD, or TAIGA_TOKEN",
        ));
    };
    let username = args
        .text("username")
        .ok_or_else(|| ToolError::invalid("username", "required with a password: the Taiga username or email"))?;
    let session = sign_in::with_password(call, &base, username, password)?;
    let session_id = session::create(call.platform, &session, settings.max_sessions_per_user)?;
    Ok(json!({
        "session_id": session_id,
        "username": session.username,
        "expires_at": format_rfc3339(session.expires_at_ms),
    }))
}

fn logout(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let id = args.required_text("session_id")?;
    // The deployment identity's session is not a caller's to end: to them it does not exist.
    if !call.as_deployment && session::is_deployment(call.platform, id)? {
        return Ok(json!({"logged_out": false}));
    }
    let existed = session::end(call.platform, id)?;
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
