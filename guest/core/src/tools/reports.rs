//! Figures: a sprint's burndown and totals, and a project's points and velocity.

use serde_json::{Value, json};

use crate::api::Api;
use crate::schema::{Field, Kind, SESSION};
use crate::tool::{Annotations, Tool};

/// Points as a number (Taiga answers floats, integers or null).
fn points(value: &Value) -> f64 {
    value.as_f64().unwrap_or(0.0)
}

/// `part` of `whole` in percent, one decimal; none when there is no whole.
fn percent(part: f64, whole: f64) -> Value {
    if whole > 0.0 {
        json!((part * 1000.0 / whole).round() / 10.0)
    } else {
        Value::Null
    }
}

/// The sum of Taiga's points per role (`{"role id": points}`) or list of points.
fn sum(value: &Value) -> f64 {
    match value {
        Value::Object(map) => map.values().map(points).sum(),
        Value::Array(list) => list.iter().map(points).sum(),
        other => points(other),
    }
}

pub const GET_SPRINT_STATS: Tool = Tool {
    name: "get_sprint_stats",
    title: "Sprint burndown and totals",
    description: "A sprint's burndown (per day: open points and the ideal line), its points, stories and \
        tasks done and in total, and its completion in percent of points (of stories when nothing is \
        estimated).",
    fields: &[SESSION, Field::required("sprint_id", Kind::Id, "The sprint id.")],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "sprint_id": {"type": "integer"},
                "name": {"type": "string"},
                "completion_percent": {"type": ["number", "null"]},
                "burndown": {"type": "array", "items": {"type": "object", "properties": {
                    "day": {"type": "string", "format": "date"},
                    "open_points": {"type": "number"},
                    "optimal_points": {"type": "number"}
                }}}
            },
            "required": ["sprint_id", "burndown"]
        })
    },
    annotations: Annotations::READ,
    run: |call, args| {
        let api = Api::open(call, args)?;
        let id = args.required_int("sprint_id")?;
        let stats = api
            .taiga()
            .get(&format!("/milestones/{id}/stats"), &format!("sprint {id}"))?;
        let total_points = sum(&stats["total_points"]);
        let completed_points = sum(&stats["completed_points"]);
        let total_stories = points(&stats["total_userstories"]);
        let completed_stories = points(&stats["completed_userstories"]);
        let completion = if total_points > 0.0 {
            percent(completed_points, total_points)
        } else {
            percent(completed_stories, total_stories)
        };
        let burndown: Vec<Value> = stats["days"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|day| {
                json!({"day": day["day"], "open_points": points(&day["open_points"]),
                       "optimal_points": (points(&day["optimal_points"]) * 100.0).round() / 100.0})
            })
            .collect();
        Ok(json!({
            "sprint_id": id,
            "name": stats["name"],
            "start_date": stats["estimated_start"],
            "end_date": stats["estimated_finish"],
            "total_points": total_points,
            "completed_points": completed_points,
            "user_stories": {"total": stats["total_userstories"], "completed": stats["completed_userstories"]},
            "tasks": {"total": stats["total_tasks"], "completed": stats["completed_tasks"]},
            "iocaine_doses": stats["iocaine_doses"],
            "completion_percent": completion,
            "burndown": burndown,
        }))
    },
};

pub const GET_PROJECT_STATS: Tool = Tool {
    name: "get_project_stats",
    title: "Project totals",
    description: "A project's points: defined, in sprints, closed, completion in percent, velocity (closed \
        points per closed sprint), and per sprint the ideal and actual remaining points.",
    fields: &[SESSION, Field::required("project_id", Kind::Id, "Project id.")],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "project_id": {"type": "integer"},
                "defined_points": {"type": "number"},
                "closed_points": {"type": "number"},
                "completion_percent": {"type": ["number", "null"]},
                "sprints": {"type": "array", "items": {"type": "object"}}
            },
            "required": ["project_id", "defined_points", "closed_points"]
        })
    },
    annotations: Annotations::READ,
    run: |call, args| {
        let api = Api::open(call, args)?;
        let id = args.required_int("project_id")?;
        let stats = api
            .taiga()
            .get(&format!("/projects/{id}/stats"), &format!("project {id}"))?;
        let defined = points(&stats["defined_points"]);
        let closed = points(&stats["closed_points"]);
        let sprints: Vec<Value> = stats["milestones"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|sprint| {
                json!({"name": sprint["name"], "optimal_points": sprint["optimal"], "remaining_points": sprint["evolution"]})
            })
            .collect();
        Ok(json!({
            "project_id": id,
            "name": stats["name"],
            "defined_points": defined,
            "assigned_points": points(&stats["assigned_points"]),
            "closed_points": closed,
            "completion_percent": percent(closed, defined),
            "velocity": stats["speed"],
            "sprints": sprints,
        }))
    },
};
