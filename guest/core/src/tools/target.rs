//! The item a tool acts on, named by `resource` (its kind) and `id`: comments, attachments,
//! custom fields, watchers and history all take the pair.

use crate::api::Api;
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
        "user_story" => Some(&USER_STORY),
        "task" => Some(&TASK),
        "issue" => Some(&ISSUE),
        "epic" => Some(&EPIC),
        "wiki" => Some(&WIKI),
        _ => None,
    };
    found
        .filter(|_| kinds.contains(&name))
        .ok_or_else(|| ToolError::invalid("resource", format!("must be one of {}", kinds.join(", "))))
}

/// The project of `resource` `id`, read from Taiga: attachments and custom fields are filed
/// under it.
pub fn project_of(api: &Api<'_>, resource: &Resource, id: i64) -> ToolResult<i64> {
    let item = api
        .taiga()
        .get(&format!("{}/{id}", resource.path), &format!("{} {id}", resource.noun))?;
    crate::crud::project_in(&item)
}
