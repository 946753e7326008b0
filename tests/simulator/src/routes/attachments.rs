//! `/<kind>/attachments`: multipart upload, list (by project and object), detail, PATCH, DELETE.

use axum::extract::{Multipart, Path};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::context::Ctx;
use crate::model::{ItemKind, now, slugify, without_kind_tag};
use crate::request::{json_body, path_id};
use crate::respond;

use crate::respond::Answer;

fn matches(attachment: &Value, kind: ItemKind) -> bool {
    attachment["_kind"] == kind.path()
}

/// `GET /<kind>/attachments?project=&object_id=`.
pub async fn list(ctx: Ctx, kind: ItemKind) -> Response {
    let project = ctx.param("project").and_then(|p| p.parse::<i64>().ok());
    let object = ctx.param("object_id").and_then(|o| o.parse::<i64>().ok());
    let items: Vec<Value> = {
        let state = ctx.state();
        state
            .attachments
            .iter()
            .filter(|a| matches(a, kind))
            .filter(|a| project.is_none_or(|p| a["project"] == p) && object.is_none_or(|o| a["object_id"] == o))
            .filter(|a| {
                a["project"]
                    .as_i64()
                    .and_then(|p| state.project(p))
                    .is_some_and(|p| state.can_view(p, ctx.user))
            })
            .map(without_kind_tag)
            .collect()
    };
    ctx.paginate(items)
}

/// `POST /<kind>/attachments` (multipart: `attached_file`, `project`, `object_id`, `description`?): 201.
pub async fn create(ctx: Ctx, kind: ItemKind, mut form: Multipart) -> Answer {
    let user = ctx.require_user()?;
    let mut fields = serde_json::Map::new();
    let mut file: Option<(String, Vec<u8>, String)> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => {
                return Err(respond::api_error(
                    StatusCode::BAD_REQUEST,
                    "Multipart form parse error",
                    "ParseError",
                ));
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "attached_file" {
            let file_name = field.file_name().unwrap_or("upload").to_owned();
            let Ok(bytes) = field.bytes().await else {
                return Err(respond::api_error(
                    StatusCode::BAD_REQUEST,
                    "Multipart form parse error",
                    "ParseError",
                ));
            };
            let digest = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
            });
            file = Some((file_name, bytes.to_vec(), format!("{digest:016x}{:024x}", bytes.len())));
        } else if let Ok(text) = field.text().await {
            fields.insert(name, Value::from(text));
        }
    }
    let Some((name, bytes, sha1)) = file else {
        return Err(respond::required("attached_file"));
    };
    let project = fields
        .get("project")
        .and_then(Value::as_str)
        .and_then(|p| p.parse::<i64>().ok());
    let object = fields
        .get("object_id")
        .and_then(Value::as_str)
        .and_then(|o| o.parse::<i64>().ok());
    let mut state = ctx.state();
    let Some(item) = object.and_then(|o| state.item(kind, o)).map(|item| item.project) else {
        return Err(respond::field_errors(
            json!({"object_id": [format!("Object id {} doesn't exist", kind.model().to_lowercase())]}),
        ));
    };
    if project != Some(item) {
        return Err(respond::field_errors(
            json!({"project": ["Project ID does not match between object and project"]}),
        ));
    }
    if !state.can_edit(item, user) {
        return Err(respond::forbidden());
    }
    let id = state.next_id("attachment");
    let stamp = now();
    let path = stored_path(&format!("{sha1}{id:024x}"), &name);
    let media = state
        .media_url
        .clone()
        .unwrap_or_else(|| format!("{}/media", ctx.url.split("/api/").next().unwrap_or_default()));
    let attachment = json!({
        "_kind": kind.path(),
        "id": id, "project": item, "owner": user, "object_id": object, "name": name, "size": bytes.len(),
        "description": fields.get("description").cloned().unwrap_or_else(|| Value::from("")),
        "is_deprecated": false, "from_comment": false, "order": 0, "sha1": sha1,
        "attached_file": path, "created_date": stamp, "modified_date": stamp,
        "url": format!(
            "{}/{path}#_taiga-refresh={}:{id}",
            media.trim_end_matches('/'),
            kind.history_name().unwrap_or_default()
        ),
        "preview_url": Value::Null, "thumbnail_card_url": Value::Null,
    });
    let before = history_entries(&state, kind, object);
    state.attachment_files.insert(path, bytes);
    state.attachments.push(attachment.clone());
    record(&mut state, kind, object, user, before);
    Ok(respond::created(without_kind_tag(&attachment)))
}

/// `GET /<kind>/attachments/{id}`.
pub async fn detail(ctx: Ctx, kind: ItemKind, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let state = ctx.state();
    let attachment = state
        .attachments
        .iter()
        .find(|a| matches(a, kind) && a["id"] == id)
        .ok_or_else(|| respond::no_match("Attachment"))?;
    let visible = attachment["project"]
        .as_i64()
        .and_then(|p| state.project(p))
        .is_some_and(|p| state.can_view(p, ctx.user));
    if !visible {
        return Err(respond::not_visible(ctx.user));
    }
    Ok(respond::ok(without_kind_tag(attachment)))
}

/// Refuses (403, as Taiga does for writes) unless the attachment exists and `user` may edit its project.
fn check_editable(state: &crate::state::State, kind: ItemKind, id: i64, user: i64) -> Result<(), Response> {
    let project = state
        .attachments
        .iter()
        .find(|a| matches(a, kind) && a["id"] == id)
        .and_then(|a| a["project"].as_i64());
    match project {
        Some(project) if state.can_edit(project, user) => Ok(()),
        _ => Err(respond::forbidden()),
    }
}

/// `PATCH /<kind>/attachments/{id}` with `description` or `is_deprecated`.
pub async fn patch(ctx: Ctx, kind: ItemKind, Path(id): Path<String>, body: axum::body::Bytes) -> Answer {
    let id = path_id(&id)?;
    let user = ctx.require_user()?;
    let body = json_body(&body)?;
    let mut state = ctx.state();
    check_editable(&state, kind, id, user)?;
    let stamp = now();
    let object = object_of(&state, kind, id);
    let before = history_entries(&state, kind, object);
    let Some(attachment) = state.attachments.iter_mut().find(|a| matches(a, kind) && a["id"] == id) else {
        return Err(respond::forbidden());
    };
    for field in ["description", "is_deprecated", "order"] {
        if let Some(value) = body.get(field) {
            attachment[field] = value.clone();
        }
    }
    attachment["modified_date"] = stamp.into();
    let answer = without_kind_tag(attachment);
    record(&mut state, kind, object, user, before);
    Ok(respond::ok(answer))
}

/// `PUT` is refused with Taiga's misleading message.
pub async fn put() -> Response {
    respond::api_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Partial updates are not supported",
        "NotSupported",
    )
}

/// `DELETE /<kind>/attachments/{id}`: 204.
pub async fn delete(ctx: Ctx, kind: ItemKind, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let user = ctx.require_user()?;
    let mut state = ctx.state();
    check_editable(&state, kind, id, user)?;
    let object = object_of(&state, kind, id);
    let before = history_entries(&state, kind, object);
    let removed: Vec<Value> = state
        .attachments
        .iter()
        .filter(|a| matches(a, kind) && a["id"] == id)
        .cloned()
        .collect();
    state.attachments.retain(|a| !(matches(a, kind) && a["id"] == id));
    for attachment in removed {
        if let Some(path) = attachment["attached_file"].as_str() {
            state.attachment_files.remove(path);
        }
    }
    record(&mut state, kind, object, user, before);
    Ok(respond::no_content())
}

fn object_of(state: &crate::state::State, kind: ItemKind, id: i64) -> Option<i64> {
    state
        .attachments
        .iter()
        .find(|a| matches(a, kind) && a["id"] == id)
        .and_then(|a| a["object_id"].as_i64())
}

/// An item's attachments as its history lists them (recording 213).
fn history_entries(state: &crate::state::State, kind: ItemKind, object: Option<i64>) -> Value {
    let entries: Vec<Value> = state
        .attachments
        .iter()
        .filter(|a| matches(a, kind) && object.is_some_and(|o| a["object_id"] == o))
        .map(|a| {
            json!({
                "id": a["id"], "url": a["url"].as_str().and_then(|u| u.split('#').next()),
                "order": a["order"], "filename": a["name"], "description": a["description"],
                "attached_file": a["attached_file"], "is_deprecated": a["is_deprecated"], "thumbnail_file": null,
            })
        })
        .collect();
    Value::Array(entries)
}

/// Where taiga-back's `get_attachment_file_path` stores a file (recording 182):
/// `attachments/a/b/c/d/<the rest of a 64-hex hash>/<name>`, the name lower-cased and its base
/// slugified. Taiga hashes the time and random bytes; the simulator its own digest and the id.
/// Taiga transliterates other scripts first (unidecode); here they are dropped (a simplification).
fn stored_path(hash: &str, file_name: &str) -> String {
    let lower = file_name.to_lowercase();
    let (base, extension) = match lower.rsplit_once('.') {
        Some((base, extension)) if !base.is_empty() => (base, format!(".{extension}")),
        _ => (lower.as_str(), String::new()),
    };
    let (dirs, rest) = hash.split_at(4);
    let dirs: Vec<String> = dirs.chars().map(String::from).collect();
    format!("attachments/{}/{rest}/{}{extension}", dirs.join("/"), slugify(base))
}

/// Adds the change of an item's attachments to its history.
fn record(state: &mut crate::state::State, kind: ItemKind, object: Option<i64>, user: i64, before: Value) {
    let after = history_entries(state, kind, object);
    if let Some(object) = object.filter(|_| before != after) {
        let mut diff = serde_json::Map::new();
        diff.insert("attachments".into(), json!([before, after]));
        state.record(kind, object, user, diff, String::new());
    }
}

/// `GET /media/{path}`: an attachment's bytes, typed by its name. Taiga's web server serves these
/// without asking who is reading (a protected-media setup adds a token; not simulated).
pub async fn media(ctx: Ctx, Path(path): Path<String>) -> Response {
    let bytes = ctx.state().attachment_files.get(&path).cloned();
    match bytes {
        Some(bytes) => {
            // A guess (no recording fetches media): nginx's `mime.types`, as Taiga's docker image
            // serves media; a type it does not know (`.md`) goes as `application/octet-stream`.
            let kind = match path.rsplit('.').next().unwrap_or_default() {
                "txt" => "text/plain",
                "json" => "application/json",
                "png" => "image/png",
                "pdf" => "application/pdf",
                _ => "application/octet-stream",
            };
            ([(axum::http::header::CONTENT_TYPE, kind)], bytes).into_response()
        }
        None => respond::html_not_found(&format!("/media/{path}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recording 182's path, `attachments/5/4/b/1/<60 hex>/notes.txt`, and Django's slugify of
    /// what a person names a file.
    #[test]
    fn files_are_stored_as_taiga_names_them() {
        let hash = "54b1".to_owned() + &"a".repeat(60);
        let path = stored_path(&hash, "notes.txt");
        assert_eq!(path, format!("attachments/5/4/b/1/{}/notes.txt", "a".repeat(60)));
        assert!(stored_path(&hash, "Meeting Notes (final).MD").ends_with("/meeting-notes-final.md"));
        assert!(stored_path(&hash, ".bashrc").ends_with("/bashrc"));
    }
}
