//! `prompts/list` and `prompts/get`: workflows that hand the model the project's real data as
//! embedded resources, and say what to produce and with which tools.

use serde_json::{Map, Value, json};

use super::markdown;
use super::request::{Failure, Reader, RequestError, text_param};
use super::resources::{self, metadata};
use super::uri::Target;

/// A prompt argument: name, what it is, whether it is required.
type Argument = (&'static str, &'static str, bool);

/// A prompt: name, title, description, arguments.
struct Prompt {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    arguments: &'static [Argument],
}

const PROJECT: Argument = ("project", "The project's slug (completes from your projects).", true);

const PROMPTS: [Prompt; 4] = [
    Prompt {
        name: "standup",
        title: "Stand-up",
        description: "What moved in a project (or one sprint) since a day: done, in progress, blocked.",
        arguments: &[
            PROJECT,
            (
                "since",
                "The first day to report, YYYY-MM-DD (default: yesterday).",
                false,
            ),
            (
                "sprint",
                "Only this sprint, by name (completes from the project's sprints).",
                false,
            ),
            (
                "person",
                "Only this member's activity, by username (completes from the project's members).",
                false,
            ),
        ],
    },
    Prompt {
        name: "sprint_review",
        title: "Sprint review",
        description: "How a sprint went: points done of planned, what was done, what was not and why.",
        arguments: &[
            PROJECT,
            (
                "sprint",
                "The sprint, by name (completes from the project's sprints).",
                true,
            ),
        ],
    },
    Prompt {
        name: "triage_issues",
        title: "Triage issues",
        description: "Propose a type, priority, severity and assignee for a project's open issues, then apply them.",
        arguments: &[
            PROJECT,
            (
                "status",
                "Only issues in this status (completes from the project's issue statuses); default: every open one.",
                false,
            ),
        ],
    },
    Prompt {
        name: "plan_sprint",
        title: "Plan a sprint",
        description: "Choose backlog stories that fit the team's capacity for a sprint, then move them into it.",
        arguments: &[
            PROJECT,
            ("sprint", "The sprint to fill, by name, if it exists already.", false),
        ],
    },
];

/// The names of every prompt's arguments, for completions.
pub fn argument_names(prompt: &str) -> Option<Vec<&'static str>> {
    PROMPTS
        .iter()
        .find(|entry| entry.name == prompt)
        .map(|entry| entry.arguments.iter().map(|(name, _, _)| *name).collect())
}

/// `prompts/list`.
pub fn list() -> Value {
    let prompts: Vec<Value> = PROMPTS
        .iter()
        .map(|prompt| {
            let arguments: Vec<Value> = prompt
                .arguments
                .iter()
                .map(|(name, description, required)| json!({"name": name, "description": description, "required": required}))
                .collect();
            json!({"name": prompt.name, "title": prompt.title, "description": prompt.description, "arguments": arguments})
        })
        .collect();
    json!({"prompts": prompts})
}

fn text(text: String) -> Value {
    json!({"role": "user", "content": {"type": "text", "text": text}})
}

fn embedded(target: &Target, text: String) -> Value {
    json!({"role": "user", "content": {"type": "resource", "resource": {
        "uri": target.to_string(), "mimeType": "text/markdown", "text": text,
    }}})
}

/// `prompts/get`.
pub fn get(reader: &Reader<'_>, params: &Map<String, Value>) -> Result<Value, RequestError> {
    let name = text_param(params, "name")?;
    let prompt = PROMPTS.iter().find(|prompt| prompt.name == name).ok_or_else(|| {
        RequestError::invalid(
            format!("no prompt `{name}`; prompts/list names them"),
            json!({"name": name}),
        )
    })?;
    let given = params
        .get("arguments")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut arguments = Map::new();
    for (argument, _, required) in prompt.arguments {
        match given.get(*argument).and_then(Value::as_str).map(str::trim) {
            Some(value) if !value.is_empty() => {
                arguments.insert((*argument).to_owned(), json!(value));
            }
            _ if *required => {
                return Err(RequestError::invalid(
                    format!("prompt `{name}` needs the argument `{argument}`"),
                    json!({"argument": argument}),
                ));
            }
            _ => {}
        }
    }
    reader.signed_in()?;
    let argument = |key: &str| arguments.get(key).and_then(Value::as_str).map(str::to_owned);
    let project_name = argument("project").unwrap_or_default();
    // A failure names the argument it is about, when it is about one.
    let about = |argument: Option<&'static str>| {
        move |failure: Failure| {
            let mut error = failure.about(&format!("prompt `{name}`"));
            error.data = Some(match argument {
                Some(argument) => json!({"argument": argument, "code": failure.code()}),
                None => json!({"code": failure.code()}),
            });
            error
        }
    };
    let fail = about(None);
    let detail = resources::project(reader, &project_name).map_err(about(Some("project")))?;
    let project_id = detail["id"].clone();
    let slug = detail["slug"].as_str().unwrap_or(&project_name).to_owned();
    let project_target = Target::Project { project: slug.clone() };
    let sprint = match argument("sprint") {
        Some(sprint) => {
            let found = resources::sprint(reader, &project_id, &sprint).map_err(about(Some("sprint")))?;
            let page = resources::sprint_text(reader, &project_id, &found).map_err(fail)?;
            let target = Target::Sprint {
                project: slug.clone(),
                sprint: found["name"].as_str().unwrap_or(&sprint).to_owned(),
            };
            Some((found, target, page))
        }
        None => None,
    };
    // The project's names, from the kept facts when they are: only the prompts that show them read them.
    let project_page = |names: Option<&Value>| embedded(&project_target, markdown::project(&detail, names));
    let project_title = detail["name"].as_str().unwrap_or(&slug).to_owned();
    let messages = match name {
        "standup" => {
            let since = argument("since").unwrap_or_else(|| yesterday(reader));
            let person = argument("person");
            let activity = activity_since(reader, &project_id, &since, person.as_deref()).map_err(fail)?;
            let mut messages = vec![text(format!(
                "Write the stand-up {} for the Taiga project \"{project_title}\" since {since}: three short sections, \
                 Done, In progress and Blocked, per person where the data allows, each item as `#ref title`. Use the \
                 activity and the {} below; read more with get_user_story, list_tasks or get_item_history only where \
                 it is unclear. Change nothing in Taiga.",
                person
                    .as_deref()
                    .map_or_else(|| "of the team".to_owned(), |person| format!("of {person}")),
                if sprint.is_some() { "sprint" } else { "project" }
            ))];
            match sprint {
                Some((_, target, page)) => messages.push(embedded(&target, page)),
                None => messages.push(project_page(metadata(reader, &project_id).as_ref())),
            }
            messages.push(text(activity));
            messages
        }
        "sprint_review" => {
            let Some((found, target, page)) = sprint else {
                return Err(RequestError::invalid(
                    "prompt `sprint_review` needs `sprint`",
                    json!({"argument": "sprint"}),
                ));
            };
            let stats = reader
                .tool("get_sprint_stats", json!({"sprint_id": found["id"]}))
                .map_err(fail)?;
            vec![
                text(format!(
                    "Review the sprint \"{}\" of \"{project_title}\": whether its goal was met, points done of planned, \
                     Done (`#ref title`, points), Not done (what is left and why, from comments: list_comments), \
                     Blocked, and one or two changes for the next sprint drawn from this data. To move unfinished \
                     stories on, ask first, then use move_user_stories_to_sprint.",
                    found["name"].as_str().unwrap_or("")
                )),
                embedded(&target, page),
                text(format!(
                    "Sprint statistics: {} of {} points done; {} of {} stories and {} of {} tasks closed.",
                    points(&stats["completed_points"]),
                    points(&stats["total_points"]),
                    stats["user_stories"]["completed"],
                    stats["user_stories"]["total"],
                    stats["tasks"]["completed"],
                    stats["tasks"]["total"]
                )),
            ]
        }
        "triage_issues" => {
            let issues = reader
                .tool("list_issues", json!({"project_id": project_id, "all": true}))
                .map_err(fail)?;
            let status = argument("status");
            let open: Vec<&Value> = issues["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|issue| match &status {
                    Some(status) => issue["status"].as_str() == Some(status.as_str()),
                    None => issue["is_closed"].as_bool() != Some(true),
                })
                .collect();
            let which = status
                .as_deref()
                .map_or_else(|| "Open issues".to_owned(), |status| format!("Issues in \"{status}\""));
            let names = metadata(reader, &project_id);
            let mut list = format!("{which} of \"{project_title}\" ({}):\n\n", open.len());
            for issue in &open {
                list.push_str(&markdown::issue_line(issue, names.as_ref()));
            }
            vec![
                text(format!(
                    "Triage the open issues of the Taiga project \"{project_title}\". For each issue that is unassigned \
                     or lacks a fitting type, priority or severity, propose them (only the names the project defines, \
                     below) and an assignee among its members; mark likely duplicates (search_project). Show the \
                     proposals as a table and ask before changing anything; then apply them with update_issue at the \
                     version read (get_issue) and assign_issue."
                )),
                project_page(names.as_ref()),
                text(list),
            ]
        }
        _ => {
            let backlog = reader
                .tool(
                    "list_user_stories",
                    json!({"project_id": project_id, "backlog": true, "all": true}),
                )
                .map_err(fail)?;
            let mut list = String::from("Backlog, in its order:\n\n");
            for story in backlog["items"].as_array().into_iter().flatten() {
                list.push_str(&markdown::story_line(story));
            }
            let mut messages = vec![
                text(format!(
                    "Plan the next sprint of the Taiga project \"{project_title}\". Ask for the team's capacity in \
                     points (or estimate it from the last closed sprint, get_sprint_stats), then propose the backlog \
                     stories that fit, in order, skipping blocked ones and flagging stories without points. When the \
                     user agrees, create_sprint if needed, then move_user_stories_to_sprint and assign_user_story."
                )),
                project_page(metadata(reader, &project_id).as_ref()),
                text(list),
            ];
            if let Some((_, target, page)) = sprint {
                messages.push(embedded(&target, page));
            }
            messages
        }
    };
    Ok(json!({"description": prompt.description, "messages": messages}))
}

/// Points as a person writes them: `3`, `2.5`, `0` (never Taiga's `-0.0`).
fn points(value: &Value) -> String {
    let number = value.as_f64().unwrap_or(0.0);
    if number == 0.0 {
        return "0".to_owned();
    }
    let text = format!("{number:.1}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_owned)
}

/// The day before today, `YYYY-MM-DD`.
fn yesterday(reader: &Reader<'_>) -> String {
    let now = reader.platform.now_ms();
    crate::time::format_rfc3339(now.saturating_sub(24 * 3600 * 1000))
        .chars()
        .take(10)
        .collect()
}

/// Timeline pages read for a stand-up, at most: enough for a busy project's day or two.
const ACTIVITY_PAGES: u32 = 3;

/// The project's timeline since `since`, one line an event.
fn activity_since(
    reader: &Reader<'_>,
    project_id: &Value,
    since: &str,
    person: Option<&str>,
) -> Result<String, Failure> {
    let mut lines = Vec::new();
    'pages: for page in 1..=ACTIVITY_PAGES {
        let timeline = reader.tool(
            "get_project_timeline",
            json!({"project_id": project_id, "page": page, "page_size": 100}),
        )?;
        for entry in timeline["items"].as_array().into_iter().flatten() {
            let at = entry["at"].as_str().unwrap_or("");
            if at < since {
                break 'pages;
            }
            if person.is_some_and(|person| entry["author"].as_str() != Some(person)) {
                continue;
            }
            let item = &entry["item"];
            let named = match (item["ref"].as_u64(), item["title"].as_str(), item["name"].as_str()) {
                (Some(number), Some(title), _) => format!("#{number} {title}"),
                (_, _, Some(name)) => name.to_owned(),
                _ => item["slug"].as_str().unwrap_or("the project").to_owned(),
            };
            let mut line = format!(
                "- {} {}: {} {} {named}",
                &at[..at.len().min(16)],
                entry["author"].as_str().unwrap_or("?"),
                entry["event"].as_str().unwrap_or("change"),
                entry["kind"].as_str().unwrap_or("").replace('_', " ")
            );
            if let Some(changes) = entry["changes"].as_object() {
                let fields: Vec<&str> = changes.keys().map(String::as_str).collect();
                line.push_str(&format!(" ({})", fields.join(", ")));
            }
            if let Some(comment) = entry["comment"].as_str() {
                line.push_str(&format!(": \"{}\"", comment.replace('\n', " ")));
            }
            lines.push(line);
        }
        if timeline["has_next"].as_bool() != Some(true) {
            break;
        }
    }
    Ok(if lines.is_empty() {
        format!("No activity since {since}.")
    } else {
        format!("Activity since {since}, newest first:\n\n{}\n", lines.join("\n"))
    })
}
