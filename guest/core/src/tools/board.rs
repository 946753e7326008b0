//! A sprint's board (or a kanban project's): its user stories in columns by status, in the
//! project's status order and colours, each card with what a person scans a board for. The board
//! app (`ui://taiga/sprint-board`) draws it; hosts without apps show the text summary.

use serde_json::{Value, json};

use crate::api::Api;
use crate::error::{ErrorCode, ToolError, ToolResult};
use crate::meta::ProjectMeta;
use crate::schema::{Field, Kind, SESSION};
use crate::taiga::with_query;
use crate::tool::{Annotations, Tool};
use crate::validate::Args;

/// Stories per page read for a board (Taiga's largest useful page).
const PAGE_SIZE: usize = 100;
/// Most cards a board shows: a board past this is a backlog, and one result stays readable.
const MAX_CARDS: usize = 300;

pub const GET_SPRINT_BOARD: Tool = Tool {
    name: "get_sprint_board",
    title: "Sprint board",
    description: "A sprint's user stories as a board: a column per status (the project's order and colours), \
        each card with ref, subject, points, assignee, blocked flag, task progress and version (for \
        update_user_story). With project_id alone: a kanban project's board. MCP Apps hosts show it as a board.",
    fields: &[
        SESSION,
        Field::optional(
            "sprint_id",
            Kind::Id,
            "The sprint; without it, project_id's kanban board.",
        ),
        Field::optional(
            "project_id",
            Kind::Id,
            "Needed without sprint_id; with it, saves a round trip.",
        ),
    ],
    output_schema: board_schema,
    annotations: Annotations::READ,
    run: |call, args| {
        let api = Api::open(call, args)?;
        board(&api, args)
    },
};

/// The board's shape, short: a model pays for every byte of `tools/list`, and the description
/// names what a card carries.
fn board_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "project_id": {"type": "integer"},
            "sprint": {"type": ["object", "null"]},
            "columns": {"type": "array", "items": {"type": "object", "properties": {
                "status_id": {"type": "integer"}, "name": {"type": "string"},
                "cards": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "version": {"type": "integer"}
                }}}
            }}},
            "total_points": {"type": "number"}
        },
        "required": ["project_id", "columns"]
    })
}

fn board(api: &Api<'_>, args: &Args) -> ToolResult<Value> {
    let sprint_id = args.int("sprint_id");
    let project_id = args.int("project_id");
    if sprint_id.is_none() && project_id.is_none() {
        return Err(ToolError::invalid(
            "sprint_id",
            "give the sprint (sprint_id), or project_id for a kanban project's board",
        ));
    }
    let stories_path = |page: usize| {
        let mut filters = vec![("include_tasks", Some("true".to_owned()))];
        match (sprint_id, project_id) {
            (Some(sprint), _) => filters.push(("milestone", Some(sprint.to_string()))),
            (None, Some(project)) => filters.push(("project", Some(project.to_string()))),
            (None, None) => {}
        }
        filters.push(("page", Some(page.to_string())));
        filters.push(("page_size", Some(PAGE_SIZE.to_string())));
        with_query("/userstories", &filters)
    };
    let what_stories = "the board's user stories";
    // What the first round trip asks for together: the sprint (its dates, and the project of an
    // empty sprint), the first page of stories, and the project's statuses when neither is kept.
    let mut reads: Vec<(String, String)> = Vec::new();
    if let Some(sprint) = sprint_id {
        reads.push((format!("/milestones/{sprint}"), format!("sprint {sprint}")));
    }
    reads.push((stories_path(1), what_stories.to_owned()));
    let kept = project_id.and_then(|project| api.keeper().project(project));
    let read_project = project_id.filter(|_| kept.is_none());
    if let Some(project) = read_project {
        reads.push((format!("/projects/{project}"), format!("project {project}")));
    }
    let pairs: Vec<(&str, &str)> = reads
        .iter()
        .map(|(path, what)| (path.as_str(), what.as_str()))
        .collect();
    let mut answers = api.taiga().get_together(&pairs).into_iter();
    let mut next = || {
        answers
            .next()
            .unwrap_or_else(|| Err(ToolError::internal("an answer of requests sent together is missing")))
    };
    let sprint = sprint_id.map(|_| next()).transpose()?;
    if let Some(sprint) = &sprint
        && project_id.is_some_and(|given| sprint["project"].as_i64() != Some(given))
    {
        return Err(ToolError::invalid(
            "project_id",
            format!(
                "sprint {} belongs to project {}, not to this one",
                sprint["id"], sprint["project"]
            ),
        ));
    }
    let mut stories = match next()? {
        Value::Array(stories) => stories,
        _ => return Err(ToolError::internal("Taiga's story list is not a list")),
    };
    let meta = match read_project {
        Some(project) => {
            let detail = next()?;
            api.keeper().keep_project(project, &detail);
            Some(ProjectMeta::new(detail))
        }
        None => kept,
    };
    let project = project_id
        .or_else(|| sprint.as_ref().and_then(|sprint| sprint["project"].as_i64()))
        .ok_or_else(|| ToolError::internal("Taiga's sprint names no project"))?;
    // A first page as full as asked for may have a next one (answers read together carry no
    // pagination headers); the pages after it say whether there is more.
    let mut page = 1;
    let mut more = stories.len() == PAGE_SIZE;
    while more && stories.len() < MAX_CARDS {
        page += 1;
        let listing = match api.taiga().get_page(&stories_path(page), what_stories) {
            // Taiga answers a page past the last 404 (recordings 152, 153): a full first page was all.
            Err(err) if err.code == ErrorCode::NotFound => {
                more = false;
                break;
            }
            listing => listing?,
        };
        more = listing.has_next && !listing.items.is_empty();
        stories.extend(listing.items);
    }
    let truncated = more || stories.len() > MAX_CARDS;
    stories.truncate(MAX_CARDS);
    let statuses_known = |meta: &ProjectMeta| {
        let known: Vec<i64> = statuses(meta)
            .iter()
            .filter_map(|status| status["id"].as_i64())
            .collect();
        stories
            .iter()
            .all(|story| story["status"].as_i64().is_some_and(|status| known.contains(&status)))
    };
    // Kept statuses that miss a story's status are stale (renamed, added): read them again.
    let meta = match meta.or_else(|| api.keeper().project(project)) {
        Some(meta) if !meta.is_kept() || statuses_known(&meta) => meta,
        _ => api.project_meta(project)?,
    };
    Ok(columns(project, sprint.as_ref(), &meta, &stories, truncated))
}

fn statuses(meta: &ProjectMeta) -> Vec<Value> {
    let mut statuses = meta.detail()["us_statuses"].as_array().cloned().unwrap_or_default();
    statuses.sort_by_key(|status| (status["order"].as_i64().unwrap_or(i64::MAX), status["id"].as_i64()));
    statuses
}

fn card(story: &Value) -> Value {
    let tasks = story["tasks"].as_array().map(Vec::as_slice).unwrap_or_default();
    let closed = tasks.iter().filter(|task| task["is_closed"] == true).count();
    let blocked = story["is_blocked"] == true;
    json!({
        "id": story["id"],
        "ref": story["ref"],
        "subject": story["subject"],
        "version": story["version"],
        "points": story["total_points"],
        "assignee": story["assigned_to_extra_info"]["full_name_display"],
        "blocked": blocked,
        "blocked_note": if blocked { story["blocked_note"].clone() } else { Value::Null },
        "tasks": {"closed": closed, "total": tasks.len()},
    })
}

fn columns(project: i64, sprint: Option<&Value>, meta: &ProjectMeta, stories: &[Value], truncated: bool) -> Value {
    let mut total_points = 0.0;
    let mut closed_points = 0.0;
    let columns: Vec<Value> = statuses(meta)
        .iter()
        .filter_map(|status| {
            let cards: Vec<Value> = stories
                .iter()
                .filter(|story| story["status"] == status["id"])
                .map(card)
                .collect();
            // An archived status is a kanban's attic: shown only while a story is in it.
            if status["is_archived"] == true && cards.is_empty() {
                return None;
            }
            // A fold from 0: `sum` of no floats is -0.0, which reads "-0" in JSON.
            let points = cards
                .iter()
                .filter_map(|card| card["points"].as_f64())
                .fold(0.0, |total, points| total + points);
            let is_closed = status["is_closed"] == true;
            total_points += points;
            if is_closed {
                closed_points += points;
            }
            Some(json!({
                "status_id": status["id"],
                "name": status["name"],
                "color": status["color"],
                "is_closed": is_closed,
                "points": points,
                "cards": cards,
            }))
        })
        .collect();
    let mut board = json!({
        "project_id": project,
        "sprint": sprint.map(|sprint| json!({
            "id": sprint["id"], "name": sprint["name"], "start_date": sprint["estimated_start"],
            "end_date": sprint["estimated_finish"], "closed": sprint["closed"] == true,
        })),
        "columns": columns,
        "total_points": total_points,
        "closed_points": closed_points,
        "cards": stories.len(),
    });
    if truncated {
        board["truncated"] = true.into();
        board["note"] = format!("the board shows the first {MAX_CARDS} stories").into();
    }
    board
}

/// The board as text, for hosts that show no app and for the model: each column with its cards.
pub fn summary(board: &Value) -> String {
    let mut text = match board["sprint"].as_object() {
        Some(sprint) => format!(
            "Sprint {} ({} to {}): {} stories, {} of {} points closed.\n",
            sprint["name"].as_str().unwrap_or_default(),
            sprint["start_date"].as_str().unwrap_or("?"),
            sprint["end_date"].as_str().unwrap_or("?"),
            board["cards"],
            number(&board["closed_points"]),
            number(&board["total_points"]),
        ),
        None => format!(
            "Board of project {}: {} stories, {} of {} points closed.\n",
            board["project_id"],
            board["cards"],
            number(&board["closed_points"]),
            number(&board["total_points"]),
        ),
    };
    for column in board["columns"].as_array().into_iter().flatten() {
        let cards = column["cards"].as_array().map(Vec::as_slice).unwrap_or_default();
        text.push_str(&format!(
            "\n{} ({}, {} points)\n",
            column["name"].as_str().unwrap_or_default(),
            cards.len(),
            number(&column["points"])
        ));
        for card in cards {
            let mut line = format!("- #{} {}", card["ref"], card["subject"].as_str().unwrap_or_default());
            if card["points"].is_number() {
                line.push_str(&format!(", {} pts", number(&card["points"])));
            }
            if let Some(assignee) = card["assignee"].as_str() {
                line.push_str(&format!(", {assignee}"));
            }
            if card["blocked"] == true {
                line.push_str(", BLOCKED");
            }
            let total = card["tasks"]["total"].as_u64().unwrap_or_default();
            if total > 0 {
                line.push_str(&format!(", tasks {}/{total}", card["tasks"]["closed"]));
            }
            text.push_str(&line);
            text.push('\n');
        }
    }
    if let Some(note) = board["note"].as_str() {
        text.push_str(&format!("\n({note})\n"));
    }
    text
}

/// Points as a person writes them: 3, 2.5.
fn number(value: &Value) -> String {
    let number = value.as_f64().unwrap_or_default();
    if number.fract() == 0.0 {
        format!("{number:.0}")
    } else {
        format!("{}", (number * 100.0).round() / 100.0)
    }
}
