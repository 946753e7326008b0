//! `resources/list`, `resources/templates/list` and `resources/read`.

use serde_json::{Map, Value, json};

use super::markdown;
use super::request::{Failure, Reader, RequestError, text_param};
use super::skills;
use super::uri::{ItemKind, TEMPLATES, Target};

/// Projects per page of `resources/list`; their wiki lists are asked for together.
const PROJECTS_PER_PAGE: u32 = 10;
const MARKDOWN: &str = "text/markdown";

/// One page of the user's projects and their wiki pages; the skills and the apps lead the first page.
pub fn list(reader: &Reader<'_>, params: &Map<String, Value>) -> Result<Value, RequestError> {
    let page = match params.get("cursor") {
        None | Some(Value::Null) => 1,
        Some(cursor) => cursor
            .as_str()
            .and_then(|cursor| cursor.parse::<u32>().ok())
            .filter(|page| *page >= 2)
            .ok_or_else(|| {
                RequestError::invalid(
                    "`cursor` is not one this server gave; list again without it",
                    json!({"param": "cursor"}),
                )
            })?,
    };
    reader.signed_in()?;
    let mut resources: Vec<Value> = if page == 1 {
        let mut first = skills::resources();
        first.extend(crate::apps::APPS.iter().map(crate::apps::listed));
        first
    } else {
        Vec::new()
    };
    let projects = reader
        .tool("list_projects", json!({"page": page, "page_size": PROJECTS_PER_PAGE}))
        .map_err(|failure| failure.about("resources/list"))?;
    let listed = projects["items"].as_array().cloned().unwrap_or_default();
    let wikis = wiki_pages(reader, &listed);
    for (project, pages) in listed.iter().zip(wikis) {
        let slug = project["slug"].as_str().unwrap_or_default().to_owned();
        resources.push(json!({
            "uri": Target::Project { project: slug.clone() }.to_string(),
            "name": slug,
            "title": project["name"],
            "description": project["description"],
            "mimeType": MARKDOWN,
        }));
        for wiki in pages.as_array().into_iter().flatten() {
            let page_slug = wiki["slug"].as_str().unwrap_or_default().to_owned();
            resources.push(json!({
                "uri": Target::Wiki { project: slug.clone(), slug: page_slug.clone() }.to_string(),
                "name": format!("{slug}/wiki/{page_slug}"),
                "title": format!("{} wiki: {page_slug}", project["name"].as_str().unwrap_or("")),
                "mimeType": MARKDOWN,
            }));
        }
    }
    let mut result = json!({"resources": resources});
    if projects["has_next"].as_bool() == Some(true) {
        result["nextCursor"] = json!((page + 1).to_string());
    }
    Ok(result)
}

/// Wiki pages listed for each project, at most: a project with more lists its first ones, and
/// the wiki template reads any page.
const WIKI_PAGES_LISTED: u32 = 100;

/// The wiki pages of each project (Taiga's array, or null where this user may not read them),
/// the projects' lists asked for together: one round trip, however many projects the page has.
fn wiki_pages(reader: &Reader<'_>, projects: &[Value]) -> Vec<Value> {
    let reads: Vec<(String, String)> = projects
        .iter()
        .map(|project| {
            (
                format!("/wiki?project={}&page=1&page_size={WIKI_PAGES_LISTED}", project["id"]),
                format!("the wiki of project {}", project["id"]),
            )
        })
        .collect();
    let answers = reader.with_api(|api| {
        let reads: Vec<(&str, &str)> = reads
            .iter()
            .map(|(path, what)| (path.as_str(), what.as_str()))
            .collect();
        let answers = api.taiga().get_together(&reads);
        Ok(Value::Array(
            answers.into_iter().map(Result::unwrap_or_default).collect(),
        ))
    });
    match answers {
        Ok(Value::Array(answers)) => answers,
        _ => vec![Value::Null; projects.len()],
    }
}

/// The templates, with every variable completable (`completion/complete`).
pub fn templates() -> Value {
    let templates: Vec<Value> = TEMPLATES
        .iter()
        .map(|(template, name, title, description)| {
            let mime = if *name == "attachment" { None } else { Some(MARKDOWN) };
            let mut entry = json!({"uriTemplate": template, "name": name, "title": title, "description": description});
            if let Some(mime) = mime {
                entry["mimeType"] = json!(mime);
            }
            entry
        })
        .collect();
    json!({"resourceTemplates": templates})
}

/// A project by slug or id.
pub fn project(reader: &Reader<'_>, project: &str) -> Result<Value, Failure> {
    let arguments = match project.parse::<u64>() {
        Ok(id) => json!({"project_id": id}),
        Err(_) => json!({"slug": project}),
    };
    reader.tool("get_project", arguments)
}

/// An item by its project's id and its ref.
pub fn item(reader: &Reader<'_>, project_id: &Value, kind: ItemKind, reference: u64) -> Result<Value, Failure> {
    reader.tool(kind.get_tool(), json!({"project_id": project_id, "ref": reference}))
}

/// A sprint of a project by name (or id in digits).
pub fn sprint(reader: &Reader<'_>, project_id: &Value, sprint: &str) -> Result<Value, Failure> {
    let sprints = reader.tool("list_sprints", json!({"project_id": project_id, "all": true}))?;
    sprints["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|entry| entry["name"].as_str() == Some(sprint) || sprint.parse::<u64>().ok() == entry["id"].as_u64())
        .cloned()
        .ok_or_else(|| {
            Failure(json!({
                "code": "NOT_FOUND",
                "message": format!("the project has no sprint named `{sprint}`; complete the name (completion/complete) or list_sprints"),
            }))
        })
}

/// A sprint as Markdown, with its stories.
pub fn sprint_text(reader: &Reader<'_>, project_id: &Value, found: &Value) -> Result<String, Failure> {
    let stories = reader.tool(
        "list_user_stories",
        json!({"project_id": project_id, "sprint_id": found["id"], "all": true}),
    )?;
    let stories = stories["items"].as_array().cloned().unwrap_or_default();
    Ok(markdown::sprint(found, &stories))
}

/// A project's names (statuses, types, priorities...), from the facts kept when they are.
pub fn metadata(reader: &Reader<'_>, project_id: &Value) -> Option<Value> {
    reader
        .tool("get_project_metadata", json!({"project_id": project_id}))
        .ok()
}

/// One item as Markdown: the item, its custom fields and its comments, the three read together.
pub fn item_text(reader: &Reader<'_>, project_id: &Value, kind: ItemKind, found: &Value) -> Result<String, Failure> {
    let (Some(id), Some(project)) = (found["id"].as_i64(), project_id.as_i64()) else {
        return Err(Failure(
            json!({"code": "TAIGA_ERROR", "message": "Taiga's answer names no item or project id"}),
        ));
    };
    let resource = kind.description();
    let extras = reader.with_api(|api| {
        let what = format!("{} {id}", kind.noun());
        let comments = crate::crud::comments_path(resource, id)?;
        let values = format!("{}/custom-attributes-values/{id}", resource.path);
        let definitions = format!(
            "/{}-custom-attributes?project={project}",
            resource.history.unwrap_or_default()
        );
        let mut answers = api
            .taiga()
            .get_together(&[(&comments, &what), (&values, &what), (&definitions, &what)])
            .into_iter();
        let comments = answers.next().unwrap_or_else(|| Ok(json!([])))?;
        // Custom fields are an extra the item reads without: a project without any answers empty.
        let values = answers.next().and_then(Result::ok).unwrap_or_default();
        let definitions = answers.next().and_then(Result::ok).unwrap_or_default();
        Ok(json!({
            "comments": crate::crud::comments_of(&comments)["comments"],
            "custom": custom_by_name(&definitions, &values["attributes_values"]),
        }))
    })?;
    let comments = extras["comments"].as_array().cloned().unwrap_or_default();
    let metadata = (kind == ItemKind::Issue)
        .then(|| metadata(reader, project_id))
        .flatten();
    Ok(markdown::item(
        kind,
        found,
        &extras["custom"],
        &comments,
        metadata.as_ref(),
    ))
}

/// `{name: value}` of the custom fields set on an item, from the project's definitions.
fn custom_by_name(definitions: &Value, values: &Value) -> Value {
    let named: Map<String, Value> = definitions
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|definition| {
            let value = values.get(definition["id"].to_string())?;
            Some((definition["name"].as_str()?.to_owned(), value.clone()))
        })
        .collect();
    Value::Object(named)
}

/// Reads one resource.
pub fn read(reader: &Reader<'_>, params: &Map<String, Value>) -> Result<Value, RequestError> {
    let uri = text_param(params, "uri")?;
    let not_found = || {
        RequestError::invalid(
            format!("no resource `{uri}`: see resources/list and resources/templates/list"),
            json!({"uri": uri}),
        )
    };
    if let Some(app) = crate::apps::at(uri) {
        return Ok(crate::apps::contents(app));
    }
    let target = Target::parse(uri).ok_or_else(not_found)?;
    if let Target::Skill { name } = &target {
        let text = skills::file(name).ok_or_else(not_found)?;
        return Ok(json!({"contents": [{"uri": uri, "mimeType": MARKDOWN, "text": text}]}));
    }
    reader.signed_in()?;
    let fail = |failure: Failure| failure.about(uri);
    let detail = project(reader, target.project().unwrap_or_default()).map_err(fail)?;
    let project_id = &detail["id"];
    let text = match &target {
        Target::Project { .. } => markdown::project(&detail, metadata(reader, project_id).as_ref()),
        Target::Item { kind, reference, .. } => {
            let found = item(reader, project_id, *kind, *reference).map_err(fail)?;
            item_text(reader, project_id, *kind, &found).map_err(fail)?
        }
        Target::Wiki { slug, .. } => markdown::wiki(
            &reader
                .tool("get_wiki_page", json!({"project_id": project_id, "slug": slug}))
                .map_err(fail)?,
        ),
        Target::Sprint { sprint: name, .. } => {
            let found = sprint(reader, project_id, name).map_err(fail)?;
            sprint_text(reader, project_id, &found).map_err(fail)?
        }
        Target::Attachment {
            kind,
            reference,
            attachment,
            ..
        } => return attachment_contents(reader, uri, project_id, *kind, *reference, *attachment),
        Target::Skill { .. } => return Err(not_found()),
    };
    Ok(json!({"contents": [{"uri": uri, "mimeType": MARKDOWN, "text": text}]}))
}

/// An attachment of the item the URI names (and of no other), as text or a blob.
fn attachment_contents(
    reader: &Reader<'_>,
    uri: &str,
    project_id: &Value,
    kind: ItemKind,
    reference: u64,
    attachment: u64,
) -> Result<Value, RequestError> {
    let fail = |failure: Failure| failure.about(uri);
    let found = item(reader, project_id, kind, reference).map_err(fail)?;
    let listed = reader
        .tool(
            "list_attachments",
            json!({"resource": kind.resource(), "id": found["id"]}),
        )
        .map_err(fail)?;
    let attached = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|entry| entry["id"].as_u64() == Some(attachment));
    if !attached {
        return Err(RequestError::invalid(
            format!("{uri}: the {} has no attachment {attachment}", kind.noun()),
            json!({"uri": uri}),
        ));
    }
    let file = reader
        .tool(
            "get_attachment",
            json!({"resource": kind.resource(), "attachment_id": attachment}),
        )
        .map_err(fail)?;
    let mime = file["content_type"].as_str().unwrap_or("application/octet-stream");
    let content = file["content"].clone();
    Ok(match file["encoding"].as_str() {
        Some("base64") => json!({"contents": [{"uri": uri, "mimeType": mime, "blob": content}]}),
        _ => json!({"contents": [{"uri": uri, "mimeType": mime, "text": content}]}),
    })
}
