//! The tool catalogue as data, and the dispatcher that validates arguments and runs a tool.

mod bulk;
mod comments;
mod items;
mod projects;
mod session;
mod sprints;
mod wiki;

use serde_json::{Map, Value};

use crate::call::Call;
use crate::context::CallContext;
use crate::platform::Platform;
use crate::schema::SESSION;
use crate::sign_in;
use crate::tool::Tool;
use crate::validate::Args;

/// Every tool, in the order `tools/list` shows them.
pub fn catalogue() -> &'static [Tool] {
    static TOOLS: &[Tool] = &[
        session::LOGIN,
        session::LOGOUT,
        session::SESSION_STATUS,
        projects::LIST_PROJECTS,
        projects::GET_PROJECT,
        projects::GET_PROJECT_METADATA,
        projects::CREATE_PROJECT,
        projects::UPDATE_PROJECT,
        projects::DELETE_PROJECT,
        projects::LIST_PROJECT_MEMBERS,
        projects::INVITE_PROJECT_USER,
        projects::REMOVE_PROJECT_MEMBER,
        items::LIST_EPICS,
        items::GET_EPIC,
        items::CREATE_EPIC,
        items::UPDATE_EPIC,
        items::DELETE_EPIC,
        items::ASSIGN_EPIC,
        items::UNASSIGN_EPIC,
        items::LINK_USER_STORY_TO_EPIC,
        items::UNLINK_USER_STORY_FROM_EPIC,
        items::LIST_EPIC_USER_STORIES,
        items::LIST_USER_STORIES,
        items::GET_USER_STORY,
        items::CREATE_USER_STORY,
        items::UPDATE_USER_STORY,
        items::DELETE_USER_STORY,
        items::ASSIGN_USER_STORY,
        items::UNASSIGN_USER_STORY,
        bulk::BULK_CREATE_USER_STORIES,
        bulk::MOVE_USER_STORIES_TO_SPRINT,
        bulk::BULK_UPDATE_USER_STORIES,
        items::LIST_TASKS,
        items::GET_TASK,
        items::CREATE_TASK,
        items::UPDATE_TASK,
        items::DELETE_TASK,
        items::ASSIGN_TASK,
        items::UNASSIGN_TASK,
        items::LIST_ISSUES,
        items::GET_ISSUE,
        items::CREATE_ISSUE,
        items::UPDATE_ISSUE,
        items::DELETE_ISSUE,
        items::ASSIGN_ISSUE,
        items::UNASSIGN_ISSUE,
        sprints::LIST_SPRINTS,
        sprints::GET_SPRINT,
        sprints::CREATE_SPRINT,
        sprints::UPDATE_SPRINT,
        sprints::DELETE_SPRINT,
        sprints::CLOSE_SPRINT,
        wiki::LIST_WIKI_PAGES,
        wiki::GET_WIKI_PAGE,
        wiki::CREATE_WIKI_PAGE,
        wiki::UPDATE_WIKI_PAGE,
        wiki::DELETE_WIKI_PAGE,
        comments::ADD_COMMENT,
        comments::LIST_COMMENTS,
    ];
    TOOLS
}

/// A call that could not be dispatched: a protocol error, not a tool result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// No tool of that name.
    #[error("unknown tool `{0}`")]
    UnknownTool(String),
    /// The arguments are not a JSON object.
    #[error("arguments must be a JSON object: {0}")]
    MalformedArguments(String),
}

/// What a dispatched tool produced: its result, or its error body with `is_error`.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The structured result or error body.
    pub structured: Value,
    /// Whether the tool failed.
    pub is_error: bool,
}

impl Outcome {
    /// The error code, when the tool failed.
    pub fn error_code(&self) -> Option<&str> {
        self.is_error.then(|| self.structured["code"].as_str()).flatten()
    }
}

/// Validates `arguments` (JSON text; empty means `{}`) and runs the named tool.
pub fn call(
    platform: &dyn Platform,
    name: &str,
    arguments: &str,
    context: &CallContext,
) -> Result<Outcome, DispatchError> {
    let tool = catalogue()
        .iter()
        .find(|tool| tool.name == name)
        .ok_or_else(|| DispatchError::UnknownTool(name.to_owned()))?;
    let raw: Map<String, Value> = if arguments.trim().is_empty() {
        Map::new()
    } else {
        match serde_json::from_str::<Value>(arguments) {
            Ok(Value::Object(map)) => map,
            Ok(Value::Null) => Map::new(),
            Ok(_) => return Err(DispatchError::MalformedArguments("not an object".to_owned())),
            Err(err) => return Err(DispatchError::MalformedArguments(err.to_string())),
        }
    };
    let call = Call { platform, context };
    let run = |raw| Args::check(tool.fields, raw).and_then(|args| (tool.run)(&call, &args));
    let takes_session = tool.fields.iter().any(|field| field.name == SESSION.name);
    let result = match sign_in::deployment_session_id(&call) {
        Some(id) if takes_session && !raw.contains_key(SESSION.name) => {
            sign_in::run_as_deployment(&call, &id, raw, run)
        }
        _ => run(raw),
    };
    Ok(match result {
        Ok(structured) => Outcome {
            structured,
            is_error: false,
        },
        Err(err) => Outcome {
            structured: err.to_body(),
            is_error: true,
        },
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
