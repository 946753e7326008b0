//! `GET /search?project=&text=` (recordings 209-211, 214): a project's epics, stories, tasks,
//! issues and wiki pages whose text matches, in taiga-back's search result shapes.

use serde_json::{Value, json};

use crate::context::Ctx;
use crate::items::render;
use crate::model::{Item, ItemKind};
use crate::respond::{self, Answer};
use crate::state::State;

/// taiga-back's `SEARCHES_MAX_RESULTS`.
const MAX_RESULTS: usize = 150;

/// Whether every word of `text` starts a word of the item's ref, subject, description or tags,
/// ignoring case: PostgreSQL's prefix full-text match (`word:*`) that taiga-back builds, without
/// its stemming (stricter than Taiga, never looser).
fn matches(item: &Item, words: &[String]) -> bool {
    let mut haystack = String::new();
    for field in ["ref", "subject", "description", "slug", "content"] {
        match item.get(field) {
            Value::String(text) => haystack.push_str(text),
            Value::Number(number) => haystack.push_str(&number.to_string()),
            _ => {}
        }
        haystack.push(' ');
    }
    for tag in item.get("tags").as_array().into_iter().flatten() {
        haystack.push_str(tag.as_str().or_else(|| tag[0].as_str()).unwrap_or_default());
        haystack.push(' ');
    }
    let haystack = haystack.to_lowercase();
    let item_words: Vec<&str> = haystack.split(|c: char| !c.is_alphanumeric()).collect();
    words
        .iter()
        .all(|word| item_words.iter().any(|candidate| candidate.starts_with(word.as_str())))
}

fn found(state: &State, project: i64, kind: ItemKind, words: &[String]) -> Vec<Value> {
    state
        .items_of(kind)
        .filter(|item| item.project == project && matches(item, words))
        .take(MAX_RESULTS)
        .map(|item| {
            let rendered = render(state, item, false);
            let keys: &[&str] = match kind {
                ItemKind::UserStory => &[
                    "id",
                    "ref",
                    "subject",
                    "status",
                    "total_points",
                    "milestone_name",
                    "milestone_slug",
                ],
                ItemKind::Wiki => &["id", "slug"],
                _ => &["id", "ref", "subject", "status", "assigned_to"],
            };
            Value::Object(keys.iter().map(|k| ((*k).to_owned(), rendered[*k].clone())).collect())
        })
        .collect()
}

/// `GET /search`. Without `project`: 404 with an empty message (211). A user who may not see the
/// project gets empty lists, as taiga-back skips each section it has no view permission for.
pub async fn search(ctx: Ctx) -> Answer {
    let Some(project) = ctx.param("project").and_then(|p| p.parse::<i64>().ok()) else {
        return Err(respond::json_response(
            axum::http::StatusCode::NOT_FOUND,
            &json!({"_error_message": ""}),
        ));
    };
    let words: Vec<String> = ctx
        .param("text")
        .unwrap_or_default()
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect();
    let state = ctx.state();
    let found_project = state
        .project(project)
        .ok_or_else(|| respond::json_response(axum::http::StatusCode::NOT_FOUND, &json!({"_error_message": ""})))?;
    let visible = state.can_view(found_project, ctx.user);
    let section = |kind| {
        if visible {
            found(&state, project, kind, &words)
        } else {
            Vec::new()
        }
    };
    let (epics, stories, tasks, issues, wiki) = (
        section(ItemKind::Epic),
        section(ItemKind::UserStory),
        section(ItemKind::Task),
        section(ItemKind::Issue),
        section(ItemKind::Wiki),
    );
    let count = epics.len() + stories.len() + tasks.len() + issues.len() + wiki.len();
    Ok(respond::ok(json!({
        "epics": epics, "userstories": stories, "tasks": tasks, "issues": issues, "wikipages": wiki,
        "count": count,
    })))
}
