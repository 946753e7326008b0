//! Figures: a sprint's burndown (`/milestones/{id}/stats`, recording 205) and a project's totals
//! (`/projects/{id}/stats`, 206), computed as taiga-back's `MilestoneViewSet.stats` and
//! `ProjectViewSet.stats` do.

use axum::extract::Path;
use serde_json::{Map, Value, json};
use taiga_tools::time::{civil_from_days, days_from_civil};

use crate::context::Ctx;
use crate::items::{points_per_role, render};
use crate::model::{Item, ItemKind};
use crate::request::path_id;
use crate::respond::{self, Answer};
use crate::routes::items::visible;
use crate::state::State;

/// The day number of a `YYYY-MM-DD` date, if it is one.
fn day_number(date: &Value) -> Option<i64> {
    let text = date.as_str()?;
    let part = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    Some(days_from_civil(
        part(0..4)?,
        u32::try_from(part(5..7)?).ok()?,
        u32::try_from(part(8..10)?).ok()?,
    ))
}

/// The day a closed story was closed: its `finish_date`, else its last change (a guess: the
/// simulator does not stamp `finish_date`).
fn closed_on(state: &State, story: &Item) -> Option<i64> {
    if render(state, story, false)["is_closed"] != true {
        return None;
    }
    let stamp = match story.get("finish_date") {
        Value::Null => story.get("modified_date"),
        other => other,
    };
    day_number(&Value::from(stamp.as_str()?.get(..10)?))
}

fn sum(points: &Map<String, Value>) -> f64 {
    points.values().filter_map(Value::as_f64).sum()
}

fn stories_in(state: &State, milestone: i64) -> Vec<&Item> {
    state
        .items_of(ItemKind::UserStory)
        .filter(|story| story.get("milestone") == milestone)
        .collect()
}

/// `GET /milestones/{id}/stats`.
pub async fn sprint(ctx: Ctx, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let state = ctx.state();
    let sprint = visible(&state, &ctx, ItemKind::Milestone, id)?;
    let stories = stories_in(&state, id);
    let mut total = Map::new();
    let mut completed = Map::new();
    for story in &stories {
        let closed = closed_on(&state, story).is_some();
        for (role, points) in points_per_role(&state, story) {
            let add = |map: &mut Map<String, Value>| {
                let now = map.get(&role).and_then(Value::as_f64).unwrap_or(0.0);
                map.insert(role.clone(), json!(now + points));
            };
            add(&mut total);
            if closed {
                add(&mut completed);
            }
        }
    }
    let tasks: Vec<Value> = state
        .items_of(ItemKind::Task)
        .filter(|task| task.get("milestone") == id)
        .map(|task| render(&state, task, false))
        .collect();
    let total_points = sum(&total);
    let (start, finish) = (
        day_number(sprint.get("estimated_start")),
        day_number(sprint.get("estimated_finish")),
    );
    let mut days = Vec::new();
    if let (Some(start), Some(finish)) = (start, finish) {
        let length = finish - start;
        let per_day = if length > 0 { total_points / length as f64 } else { 0.0 };
        let mut optimal = json!(total_points_value(total_points));
        for day in start..=finish {
            let closed: f64 = stories
                .iter()
                .filter(|story| closed_on(&state, story).is_some_and(|on| on <= day))
                .map(|story| points_per_role(&state, story).into_iter().map(|(_, p)| p).sum::<f64>())
                .sum();
            let (year, month, date) = civil_from_days(day);
            days.push(json!({
                "day": format!("{year:04}-{month:02}-{date:02}"),
                "name": date,
                "open_points": total_points_value(total_points - closed),
                "optimal_points": optimal,
            }));
            optimal = json!(optimal.as_f64().unwrap_or(0.0) - per_day);
        }
    }
    Ok(respond::ok(json!({
        "name": sprint.get("name"),
        "estimated_start": sprint.get("estimated_start"),
        "estimated_finish": sprint.get("estimated_finish"),
        "total_points": total,
        "completed_points": completed.values().cloned().collect::<Vec<_>>(),
        "total_userstories": stories.len(),
        "completed_userstories": stories.iter().filter(|s| closed_on(&state, s).is_some()).count(),
        "total_tasks": tasks.len(),
        "completed_tasks": tasks.iter().filter(|t| t["is_closed"] == true).count(),
        "iocaine_doses": tasks.iter().filter(|t| t["is_iocaine"] == true).count(),
        "days": days,
    })))
}

/// Points as Taiga's JSON shows them: whole numbers without a fraction.
fn total_points_value(points: f64) -> Value {
    if points.fract() == 0.0 && points.abs() < 1e15 {
        json!(points as i64)
    } else {
        json!(points)
    }
}

/// `GET /projects/{id}/stats`. The per-sprint `optimal` and `evolution` figures follow the shape of
/// recording 206; their arithmetic is a guess (linear, as the burndown's).
pub async fn project(ctx: Ctx, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let state = ctx.state();
    let project = state.project(id).ok_or_else(|| respond::no_match("Project"))?;
    if !state.can_view(project, ctx.user) {
        return Err(respond::not_visible(ctx.user));
    }
    let stories: Vec<&Item> = state
        .items_of(ItemKind::UserStory)
        .filter(|story| story.project == id)
        .collect();
    let mut defined = Map::new();
    let mut closed = Map::new();
    let mut assigned = Map::new();
    for story in &stories {
        for (role, points) in points_per_role(&state, story) {
            let add = |map: &mut Map<String, Value>| {
                let now = map.get(&role).and_then(Value::as_f64).unwrap_or(0.0);
                map.insert(role.clone(), json!(now + points));
            };
            add(&mut defined);
            if closed_on(&state, story).is_some() {
                add(&mut closed);
            }
            if !story.get("milestone").is_null() {
                add(&mut assigned);
            }
        }
    }
    let sprints: Vec<&Item> = state
        .items_of(ItemKind::Milestone)
        .filter(|sprint| sprint.project == id)
        .collect();
    let defined_points = sum(&defined);
    let step = if sprints.is_empty() {
        0.0
    } else {
        defined_points / sprints.len() as f64
    };
    let mut remaining = defined_points;
    let mut milestones: Vec<Value> = sprints
        .iter()
        .enumerate()
        .map(|(index, sprint)| {
            let done: f64 = stories_in(&state, sprint.id)
                .iter()
                .filter(|story| closed_on(&state, story).is_some())
                .map(|story| points_per_role(&state, story).into_iter().map(|(_, p)| p).sum::<f64>())
                .sum();
            let row = json!({
                "name": sprint.get("name"),
                "optimal": total_points_value(defined_points - step * index as f64),
                "evolution": total_points_value(remaining),
                "team-increment": 0,
                "client-increment": 0,
            });
            remaining -= done;
            row
        })
        .collect();
    milestones.push(json!({
        "name": "Project End", "optimal": 0, "evolution": null, "team-increment": 0, "client-increment": 0,
    }));
    let closed_sprints = sprints.iter().filter(|s| s.get("closed") == true).count();
    let closed_points = sum(&closed);
    Ok(respond::ok(json!({
        "name": project.name,
        "total_milestones": null,
        "total_points": null,
        "closed_points": total_points_value(closed_points),
        "closed_points_per_role": closed,
        "defined_points": total_points_value(defined_points),
        "defined_points_per_role": defined,
        "assigned_points": total_points_value(sum(&assigned)),
        "assigned_points_per_role": assigned,
        "milestones": milestones,
        "speed": if closed_sprints == 0 { json!(0) } else { total_points_value(closed_points / closed_sprints as f64) },
    })))
}
