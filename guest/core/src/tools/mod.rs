//! The tool catalogue as data, and the dispatcher that validates arguments and runs a tool.

mod actions;
mod activity;
mod attachments;
mod board;
mod bulk;
mod comments;
mod custom_fields;
mod items;
mod projects;
mod reports;
mod search;
mod session;
mod sprints;
mod target;
mod wiki;

use serde_json::{Map, Value};

use crate::call::Call;
use crate::context::CallContext;
use crate::platform::Platform;
use crate::schema::{Field, SESSION};
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
        board::GET_SPRINT_BOARD,
        wiki::LIST_WIKI_PAGES,
        wiki::GET_WIKI_PAGE,
        wiki::CREATE_WIKI_PAGE,
        wiki::UPDATE_WIKI_PAGE,
        wiki::DELETE_WIKI_PAGE,
        comments::ADD_COMMENT,
        comments::LIST_COMMENTS,
        attachments::LIST_ATTACHMENTS,
        attachments::UPLOAD_ATTACHMENT,
        attachments::UPDATE_ATTACHMENT,
        attachments::DELETE_ATTACHMENT,
        attachments::GET_ATTACHMENT,
        custom_fields::LIST_CUSTOM_ATTRIBUTES,
        custom_fields::GET_CUSTOM_VALUES,
        custom_fields::SET_CUSTOM_VALUES,
        actions::PROMOTE_ISSUE_TO_USER_STORY,
        actions::WATCH_ITEM,
        actions::UNWATCH_ITEM,
        search::SEARCH_PROJECT,
        reports::GET_SPRINT_STATS,
        reports::GET_PROJECT_STATS,
        activity::GET_ITEM_HISTORY,
        activity::GET_PROJECT_TIMELINE,
    ];
    TOOLS
}

/// A named group of tools a deployment enables together (`TAIGA_TOOLSETS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Toolset {
    /// Its name.
    pub name: &'static str,
    /// What it covers.
    pub description: &'static str,
    /// Its tools, by name.
    pub tools: &'static [&'static str],
}

/// Every toolset; each tool is in exactly one.
pub const TOOLSETS: &[Toolset] = &[
    Toolset {
        name: "session",
        description: "Signing in and out, and who the session is.",
        tools: &["login", "logout", "session_status"],
    },
    Toolset {
        name: "projects",
        description: "Projects: list, read, their statuses and members' names, create, change, delete.",
        tools: &[
            "list_projects",
            "get_project",
            "get_project_metadata",
            "create_project",
            "update_project",
            "delete_project",
        ],
    },
    Toolset {
        name: "members",
        description: "A project's members: list, invite, remove.",
        tools: &["list_project_members", "invite_project_user", "remove_project_member"],
    },
    Toolset {
        name: "epics",
        description: "Epics and the user stories linked to them.",
        tools: &[
            "list_epics",
            "get_epic",
            "create_epic",
            "update_epic",
            "delete_epic",
            "assign_epic",
            "unassign_epic",
            "link_user_story_to_epic",
            "unlink_user_story_from_epic",
            "list_epic_user_stories",
        ],
    },
    Toolset {
        name: "stories",
        description: "User stories, one at a time.",
        tools: &[
            "list_user_stories",
            "get_user_story",
            "create_user_story",
            "update_user_story",
            "delete_user_story",
            "assign_user_story",
            "unassign_user_story",
        ],
    },
    Toolset {
        name: "bulk",
        description: "Many user stories at once: create, move to a sprint, update.",
        tools: &[
            "bulk_create_user_stories",
            "move_user_stories_to_sprint",
            "bulk_update_user_stories",
        ],
    },
    Toolset {
        name: "tasks",
        description: "Tasks.",
        tools: &[
            "list_tasks",
            "get_task",
            "create_task",
            "update_task",
            "delete_task",
            "assign_task",
            "unassign_task",
        ],
    },
    Toolset {
        name: "issues",
        description: "Issues.",
        tools: &[
            "list_issues",
            "get_issue",
            "create_issue",
            "update_issue",
            "delete_issue",
            "assign_issue",
            "unassign_issue",
        ],
    },
    Toolset {
        name: "sprints",
        description: "Sprints (Taiga's milestones) and their boards.",
        tools: &[
            "list_sprints",
            "get_sprint",
            "create_sprint",
            "update_sprint",
            "delete_sprint",
            "close_sprint",
            "get_sprint_board",
        ],
    },
    Toolset {
        name: "wiki",
        description: "Wiki pages.",
        tools: &[
            "list_wiki_pages",
            "get_wiki_page",
            "create_wiki_page",
            "update_wiki_page",
            "delete_wiki_page",
        ],
    },
    Toolset {
        name: "comments",
        description: "Comments on stories, tasks, issues, epics and wiki pages.",
        tools: &["add_comment", "list_comments"],
    },
    Toolset {
        name: "attachments",
        description: "Files attached to stories, tasks, issues, epics and wiki pages.",
        tools: &[
            "list_attachments",
            "upload_attachment",
            "update_attachment",
            "delete_attachment",
            "get_attachment",
        ],
    },
    Toolset {
        name: "custom_fields",
        description: "Custom fields of stories, tasks, issues and epics: definitions and values.",
        tools: &["list_custom_attributes", "get_custom_values", "set_custom_values"],
    },
    Toolset {
        name: "actions",
        description: "Promote an issue to a user story; watch and unwatch items.",
        tools: &["promote_issue_to_user_story", "watch_item", "unwatch_item"],
    },
    Toolset {
        name: "search",
        description: "Text search across a project.",
        tools: &["search_project"],
    },
    Toolset {
        name: "reports",
        description: "Sprint burndown and project totals.",
        tools: &["get_sprint_stats", "get_project_stats"],
    },
    Toolset {
        name: "activity",
        description: "An item's history and a project's timeline.",
        tools: &["get_item_history", "get_project_timeline"],
    },
];

/// The tools of the `default` choice: a planning and triage day. Read the projects and their
/// statuses and members, work user stories, tasks and issues (list, read, create, change: assigning
/// is a change), see the sprints (their list has dates, counts and points), comment. Deleting, bulk edits, epics, wiki and membership changes
/// are a toolset away. Its `tools/list` is within 20 KB (BENCHMARKS.md, "tools/list by toolset").
pub const DEFAULT_TOOLS: &[&str] = &[
    "login",
    "logout",
    "session_status",
    "list_projects",
    "get_project_metadata",
    "list_user_stories",
    "get_user_story",
    "create_user_story",
    "update_user_story",
    "list_tasks",
    "create_task",
    "update_task",
    "list_issues",
    "get_issue",
    "create_issue",
    "update_issue",
    "list_sprints",
    "add_comment",
    "list_comments",
];

/// The toolset a tool belongs to.
pub fn toolset_of(tool: &str) -> Option<&'static str> {
    TOOLSETS
        .iter()
        .find(|toolset| toolset.tools.contains(&tool))
        .map(|toolset| toolset.name)
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
    /// The text content, where a tool says its result in words (a board); else the result's JSON.
    pub summary: Option<String>,
}

/// Tools whose text content is a readable summary of their result rather than its JSON: what a
/// host without MCP Apps shows, and what the model reads.
const SUMMARIES: &[(&str, Summary)] = &[("get_sprint_board", board::summary)];

/// Says a tool's result in words.
type Summary = fn(&Value) -> String;

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
    let run = |call: &Call<'_>, raw| Args::check(tool.fields, raw).and_then(|args| (tool.run)(call, &args));
    let takes_session = tool.fields.iter().any(|field| field.name == SESSION.name);
    let as_deployment = context.settings.identity.is_some() && takes_session && !raw.contains_key(SESSION.name);
    let call = Call {
        platform,
        context,
        as_deployment,
    };
    let result = if as_deployment {
        // Checked before signing in too (all but the session id the sign-in gives), so that a
        // bad argument costs no sign-in.
        let before_sign_in: Vec<Field> = tool
            .fields
            .iter()
            .filter(|field| field.name != SESSION.name)
            .copied()
            .collect();
        Args::check(&before_sign_in, raw.clone())
            .and_then(|_| sign_in::run_as_deployment(&call, raw, |raw| run(&call, raw)))
    } else {
        run(&call, raw)
    };
    Ok(match result {
        Ok(structured) => Outcome {
            summary: SUMMARIES
                .iter()
                .find(|(tool, _)| *tool == name)
                .map(|(_, summary)| summary(&structured)),
            structured,
            is_error: false,
        },
        Err(err) => Outcome {
            structured: err.to_body(),
            is_error: true,
            summary: None,
        },
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
