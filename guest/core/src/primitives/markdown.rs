//! Taiga objects as the Markdown a person would write about them: names beside ids, the fields
//! that matter first, empty ones left out.

use std::fmt::Write;

use serde_json::Value;

use super::uri::ItemKind;

/// How many of an item's comments a resource shows: the newest.
const LATEST_COMMENTS: usize = 5;

/// A value as text, or none when it is empty.
fn shown(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) if text.is_empty() => None,
        Value::String(text) => Some(text.clone()),
        Value::Bool(flag) => Some(if *flag { "yes" } else { "no" }.to_owned()),
        Value::Array(values) if values.is_empty() => None,
        Value::Array(values) => Some(values.iter().filter_map(shown).collect::<Vec<_>>().join(", ")),
        other => Some(other.to_string()),
    }
}

/// `- **label**: value`, when there is a value.
fn line(out: &mut String, label: &str, value: &Value) {
    if let Some(text) = shown(value) {
        let _ = writeln!(out, "- **{label}**: {text}");
    }
}

/// The date part of a Taiga timestamp.
fn day(value: &Value) -> Value {
    match value.as_str() {
        Some(text) => Value::String(text.chars().take(10).collect()),
        None => Value::Null,
    }
}

/// A name from a project's metadata list (`priorities`...) for an id.
pub fn name_in(metadata: Option<&Value>, list: &str, id: &Value) -> Value {
    metadata
        .and_then(|metadata| metadata[list].as_array())
        .and_then(|entries| entries.iter().find(|entry| &entry["id"] == id))
        .map_or_else(|| id.clone(), |entry| entry["name"].clone())
}

/// A project: what it is, who is in it, and its workflow.
pub fn project(detail: &Value, metadata: Option<&Value>) -> String {
    let mut out = format!("# {}\n\n", detail["name"].as_str().unwrap_or("Project"));
    line(&mut out, "Slug", &detail["slug"]);
    line(&mut out, "Id", &detail["id"]);
    line(&mut out, "Owner", &detail["owner"]);
    line(&mut out, "Private", &detail["is_private"]);
    if let Some(modules) = detail["modules"].as_object() {
        let on: Vec<&str> = modules
            .iter()
            .filter(|(_, on)| on.as_bool() == Some(true))
            .map(|(name, _)| name.as_str())
            .collect();
        line(&mut out, "Modules", &Value::from(on));
    }
    if let Some(description) = shown(&detail["description"]) {
        let _ = write!(out, "\n{description}\n");
    }
    if let Some(members) = detail["members"].as_array().filter(|members| !members.is_empty()) {
        out.push_str("\n## Members\n\n");
        for member in members {
            let _ = writeln!(
                out,
                "- {} ({}), {}",
                member["username"].as_str().unwrap_or("?"),
                member["full_name"].as_str().unwrap_or(""),
                member["role"].as_str().unwrap_or("no role")
            );
        }
    }
    if let Some(metadata) = metadata {
        for (list, title) in [
            ("user_story_statuses", "User story statuses"),
            ("task_statuses", "Task statuses"),
            ("issue_statuses", "Issue statuses"),
            ("issue_types", "Issue types"),
            ("priorities", "Priorities"),
            ("severities", "Severities"),
        ] {
            let names: Vec<Value> = metadata[list]
                .as_array()
                .map(|entries| entries.iter().map(|entry| entry["name"].clone()).collect())
                .unwrap_or_default();
            if !names.is_empty() {
                let _ = writeln!(out, "\n**{title}**: {}", shown(&Value::from(names)).unwrap_or_default());
            }
        }
    }
    out
}

/// A story, task, issue or epic, with its custom fields and latest comments.
pub fn item(kind: ItemKind, item: &Value, custom: &Value, comments: &[Value], metadata: Option<&Value>) -> String {
    let mut out = format!(
        "# #{} {}\n\n*{} in {}*\n\n",
        item["ref"],
        item["title"].as_str().unwrap_or(""),
        kind.noun(),
        item["project"].as_str().unwrap_or("its project")
    );
    line(&mut out, "Status", &item["status"]);
    line(&mut out, "Closed", &item["is_closed"]);
    if kind == ItemKind::Issue {
        line(&mut out, "Type", &name_in(metadata, "issue_types", &item["type_id"]));
        line(
            &mut out,
            "Priority",
            &name_in(metadata, "priorities", &item["priority_id"]),
        );
        line(
            &mut out,
            "Severity",
            &name_in(metadata, "severities", &item["severity_id"]),
        );
    }
    line(&mut out, "Assigned to", &item["assigned_to"]);
    line(&mut out, "Points", &item["total_points"]);
    line(&mut out, "Sprint", &item["sprint"]);
    line(&mut out, "User story", &item["user_story"]);
    line(&mut out, "Due", &item["due_date"]);
    if item["is_blocked"].as_bool() == Some(true) {
        let note = shown(&item["blocked_note"]).unwrap_or_else(|| "no reason given".to_owned());
        let _ = writeln!(out, "- **Blocked**: {note}");
    }
    line(&mut out, "Tags", &item["tags"]);
    line(&mut out, "Created", &day(&item["created_date"]));
    line(&mut out, "Created by", &item["owner"]);
    line(&mut out, "Modified", &day(&item["modified_date"]));
    line(&mut out, "Id", &item["id"]);
    line(&mut out, "Version", &item["version"]);
    if let Some(description) = shown(&item["description"]) {
        let _ = write!(out, "\n## Description\n\n{description}\n");
    }
    if let Some(values) = custom.as_object().filter(|values| !values.is_empty()) {
        out.push_str("\n## Custom fields\n\n");
        for (name, value) in values {
            line(&mut out, name, value);
        }
    }
    if !comments.is_empty() {
        // Taiga lists them newest first.
        let latest = &comments[..comments.len().min(LATEST_COMMENTS)];
        let _ = writeln!(
            out,
            "\n## Latest comments ({} of {}, newest first)\n",
            latest.len(),
            comments.len()
        );
        for comment in latest {
            let _ = writeln!(
                out,
                "- **{}**, {}: {}",
                comment["author"].as_str().unwrap_or("?"),
                day(&comment["created_at"]).as_str().unwrap_or(""),
                comment["text"].as_str().unwrap_or("").replace('\n', " ")
            );
        }
    }
    out
}

/// A wiki page: its own Markdown under its slug.
pub fn wiki(page: &Value) -> String {
    format!(
        "<!-- wiki page `{}`, version {}, modified {} -->\n\n{}\n",
        page["slug"].as_str().unwrap_or(""),
        page["version"],
        day(&page["modified_date"]).as_str().unwrap_or(""),
        page["content"].as_str().unwrap_or("")
    )
}

/// A sprint: dates, totals and its stories by status.
pub fn sprint(sprint: &Value, stories: &[Value]) -> String {
    let mut out = format!("# {}\n\n", sprint["name"].as_str().unwrap_or("Sprint"));
    line(&mut out, "From", &sprint["start_date"]);
    line(&mut out, "To", &sprint["end_date"]);
    line(&mut out, "Closed", &sprint["closed"]);
    line(&mut out, "Points", &sprint["total_points"]);
    line(&mut out, "Points done", &sprint["closed_points"]);
    line(&mut out, "Id", &sprint["id"]);
    let _ = writeln!(out, "\n## User stories ({})\n", stories.len());
    let mut statuses: Vec<&str> = Vec::new();
    for story in stories {
        let status = story["status"].as_str().unwrap_or("?");
        if !statuses.contains(&status) {
            statuses.push(status);
        }
    }
    for status in statuses {
        let _ = writeln!(out, "### {status}\n");
        for story in stories
            .iter()
            .filter(|story| story["status"].as_str().unwrap_or("?") == status)
        {
            out.push_str(&story_line(story));
        }
        out.push('\n');
    }
    out
}

/// One line for a story in a list: ref, title, points, assignee, blocked.
pub fn story_line(story: &Value) -> String {
    let mut text = format!("- #{} {}", story["ref"], story["title"].as_str().unwrap_or(""));
    if let Some(points) = shown(&story["total_points"]) {
        let _ = write!(text, " ({points} points)");
    }
    match shown(&story["assigned_to"]) {
        Some(who) => {
            let _ = write!(text, ", {who}");
        }
        None => text.push_str(", unassigned"),
    }
    if story["is_blocked"].as_bool() == Some(true) {
        text.push_str(", **blocked**");
    }
    text.push('\n');
    text
}

/// One line for an issue in a list, with the names of its type, priority and severity.
pub fn issue_line(issue: &Value, metadata: Option<&Value>) -> String {
    format!(
        "- #{} {} ({}, {} priority, {} severity, {}){}\n",
        issue["ref"],
        issue["title"].as_str().unwrap_or(""),
        shown(&name_in(metadata, "issue_types", &issue["type_id"])).unwrap_or_default(),
        shown(&name_in(metadata, "priorities", &issue["priority_id"])).unwrap_or_default(),
        shown(&name_in(metadata, "severities", &issue["severity_id"])).unwrap_or_default(),
        shown(&issue["status"]).unwrap_or_default(),
        shown(&issue["assigned_to"]).map_or_else(|| ", unassigned".to_owned(), |who| format!(", {who}"))
    )
}
