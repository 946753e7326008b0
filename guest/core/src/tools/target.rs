//! The item a tool acts on, named by `resource` (its kind) and `id`: comments, attachments,
//! custom fields, watchers and history all take the pair.

use crate::error::{ToolError, ToolResult};
use crate::resource::{EPIC, ISSUE, Resource, TASK, USER_STORY, WIKI};
use crate::schema::{Field, Kind};
use crate::validate::Args;

/// Kinds that take comments and attachments and keep a history.
pub const WITH_WIKI: &[&str] = &["user_story", "task", "issue", "epic", "wiki"];
/// Kinds that have custom fields and watchers.
pub const ITEMS: &[&str] = &["user_story", "task", "issue", "epic"];

/// The `resource` argument over `kinds`.
pub const fn resource_field(kinds: &'static [&'static str]) -> Field {
    Field::required("resource", Kind::Choice(kinds), "The item's kind.")
}

/// The `id` argument.
pub const ITEM_ID: Field = Field::required("id", Kind::Id, "The item's id.");

/// The resource the `resource` argument names, if it is one of `kinds`.
pub fn resource(args: &Args, kinds: &[&str]) -> ToolResult<&'static Resource> {
    let name = args.required_text("resource")?;
    let found = match name {
        "user_story" => &USER_STORY,
        "task" => &TASK,
        "issue" => &ISSUE,
        "epic" => &EPIC,
        "wiki" => &WIKI,
        _ => {
            return Err(ToolError::invalid(
                "resource",
                format!("must be one of {}", kinds.join(", ")),
            ));
        }
    };
    if kinds.contains(&name) {
        Ok(found)
    } else {
        Err(ToolError::invalid(
            "resource",
            format!("must be one of {}", kinds.join(", ")),
        ))
    }
}
