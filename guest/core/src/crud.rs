//! The one generic path for list, get, create, update, delete, assign and comments over a
//! [`Resource`] description.

use serde_json::{Map, Value, json};

use crate::api::Api;
use crate::call::Call;
use crate::error::{ErrorCode, ToolError, ToolResult};
use crate::listing::list_page;
use crate::meta::ProjectMeta;
use crate::resource::{Conv, Mapping, Resource, map};
use crate::validate::Args;

/// Resolves mapped arguments to Taiga values, from the project's kept names when there are
/// ([`crate::facts`]), reading the project only when a name needs it. A name kept names do not know
/// is looked up again in Taiga before it is refused.
pub struct Resolver<'a, 'c> {
    api: &'a Api<'c>,
    project: i64,
    meta: Option<ProjectMeta>,
    /// The tool arguments and Taiga fields whose ids came from kept names.
    from_kept: Vec<(&'static str, &'static str)>,
}

impl<'a, 'c> Resolver<'a, 'c> {
    /// A resolver for `project`.
    pub fn new(api: &'a Api<'c>, project: i64) -> Self {
        Self {
            api,
            project,
            meta: None,
            from_kept: Vec::new(),
        }
    }

    fn meta(&mut self) -> ToolResult<&ProjectMeta> {
        if self.meta.is_none() {
            self.meta = Some(self.api.project_facts(self.project)?);
        }
        self.meta
            .as_ref()
            .ok_or_else(|| ToolError::internal("project metadata missing"))
    }

    /// Reads the project's names from Taiga again, replacing kept ones.
    pub fn refresh(&mut self) -> ToolResult<&ProjectMeta> {
        self.from_kept.clear();
        self.meta = Some(self.api.project_meta(self.project)?);
        self.meta()
    }

    /// Resolves one name with `find`, looking it up again in Taiga when kept names lack it.
    fn resolve(&mut self, mapping: &Mapping, find: impl Fn(&ProjectMeta) -> ToolResult<i64>) -> ToolResult<i64> {
        let meta = self.meta()?;
        let kept = meta.is_kept();
        match find(meta) {
            Ok(id) => {
                if kept {
                    self.from_kept.push((mapping.arg, mapping.taiga));
                }
                Ok(id)
            }
            Err(_) if kept => find(self.refresh()?),
            Err(err) => Err(err),
        }
    }

    /// The Taiga value of one argument.
    pub fn value(&mut self, mapping: &Mapping, value: &Value) -> ToolResult<Value> {
        Ok(match mapping.conv {
            Conv::Plain | Conv::Sprint => value.clone(),
            Conv::Tags => value.clone(),
            Conv::Lookup(_) | Conv::Member if value.is_null() => Value::Null,
            Conv::Lookup(list) if value.is_string() => self
                .resolve(mapping, |meta| meta.lookup(list, mapping.arg, value))?
                .into(),
            Conv::Member if value.is_string() => self.resolve(mapping, |meta| meta.member(mapping.arg, value))?.into(),
            Conv::Lookup(_) | Conv::Member => value.clone(),
        })
    }

    /// A user given by id or username.
    pub fn member(&mut self, arg: &'static str, value: &Value) -> ToolResult<i64> {
        match value.as_i64() {
            Some(id) => Ok(id),
            None => self.resolve(&map(arg, arg, Conv::Member), |meta| meta.member(arg, value)),
        }
    }

    /// The body fields for every mapped argument the caller gave.
    pub fn body(&mut self, mappings: &[Mapping], args: &Args) -> ToolResult<Map<String, Value>> {
        let mut body = Map::new();
        for mapping in mappings.iter().filter(|mapping| args.has(mapping.arg)) {
            let value = self.value(mapping, args.raw(mapping.arg))?;
            body.insert(mapping.taiga.to_owned(), value);
        }
        Ok(body)
    }

    /// Whether Taiga refused a value that came from kept names (a status deleted, a member removed
    /// since they were kept): the kept names are then forgotten and the write may run again on
    /// fresh ones.
    pub fn refused_kept(&self, err: &ToolError) -> bool {
        if err.code != ErrorCode::InvalidInput || self.from_kept.is_empty() {
            return false;
        }
        let named = |field: &Value| {
            field.as_str().is_some_and(|field| {
                self.from_kept
                    .iter()
                    .any(|(arg, taiga)| field == *arg || field == *taiga)
            })
        };
        let stale = named(&err.details["field"])
            || err.details["fields"]
                .as_array()
                .is_some_and(|fields| fields.iter().any(|entry| named(&entry["field"])));
        if stale {
            self.api.keeper().forget_project(self.project);
        }
        stale
    }

    /// After a write, the fields given by name whose kept id Taiga's answer names otherwise, resolved
    /// again from Taiga when that now gives another id. Only choices Taiga names in its answer
    /// (`status_extra_info`) can be checked this way.
    pub fn renamed(&mut self, answer: &Value, mappings: &[Mapping], args: &Args) -> ToolResult<Map<String, Value>> {
        let mut fixes = Map::new();
        let misnamed = self.from_kept.iter().any(|(arg, taiga)| {
            let asked = args.raw(arg).as_str().map(str::trim);
            let named = answer[format!("{taiga}_extra_info")]["name"].as_str();
            matches!((asked, named), (Some(asked), Some(named)) if !named.eq_ignore_ascii_case(asked))
        });
        if !misnamed {
            return Ok(fixes);
        }
        self.refresh()?;
        for mapping in mappings
            .iter()
            .filter(|mapping| matches!(mapping.conv, Conv::Lookup(_)) && args.raw(mapping.arg).is_string())
        {
            let value = self.value(mapping, args.raw(mapping.arg))?;
            if answer[mapping.taiga] != value {
                fixes.insert(mapping.taiga.to_owned(), value);
            }
        }
        Ok(fixes)
    }

    /// Whether some name was resolved from kept names rather than read from Taiga in this call.
    pub fn used_kept(&self) -> bool {
        !self.from_kept.is_empty()
    }

    /// Whether a listed item shows a filter given by a kept name under another name than the kept
    /// names give its id: the names changed in Taiga since they were kept (a status renamed, its name
    /// given to another), so the kept id may have selected other items than the ones asked for.
    pub fn misnamed(&self, items: &Value, mappings: &[Mapping], args: &Args) -> bool {
        let (Some(meta), Some(items)) = (self.meta.as_ref(), items.as_array()) else {
            return false;
        };
        mappings
            .iter()
            .filter(|mapping| self.from_kept.iter().any(|(arg, _)| *arg == mapping.arg))
            .filter_map(|mapping| Some((mapping.arg, kept_name(meta, mapping, args.raw(mapping.arg))?)))
            .any(|(arg, kept)| {
                items.iter().any(|item| {
                    item[arg]
                        .as_str()
                        .is_some_and(|shown| !shown.eq_ignore_ascii_case(&kept))
                })
            })
    }

    /// Resolves `mappings` for a write and sends it with `send`; when Taiga refuses a value kept
    /// names gave, resolves them again from Taiga and sends once more.
    pub fn write(
        &mut self,
        mappings: &[Mapping],
        args: &Args,
        send: impl Fn(Map<String, Value>) -> ToolResult<Value>,
    ) -> ToolResult<Value> {
        let body = self.body(mappings, args)?;
        match send(body) {
            Err(err) if self.refused_kept(&err) => {
                self.refresh()?;
                send(self.body(mappings, args)?)
            }
            outcome => outcome,
        }
    }
}

/// The name a list item shows for `value` as the kept names have it: a status's name, a member's
/// username.
fn kept_name(meta: &ProjectMeta, mapping: &Mapping, value: &Value) -> Option<String> {
    let (list, key, id) = match mapping.conv {
        Conv::Lookup(list) => (list, "name", meta.lookup(list, mapping.arg, value).ok()?),
        Conv::Member => ("members", "username", meta.member(mapping.arg, value).ok()?),
        _ => return None,
    };
    meta.detail()[list].as_array()?.iter().find(|entry| entry["id"] == id)?[key]
        .as_str()
        .map(str::to_owned)
}

fn id_of(args: &Args, resource: &Resource) -> ToolResult<i64> {
    args.required_int(resource.id_arg)
}

fn what(resource: &Resource, id: i64) -> String {
    format!("{} {id}", resource.noun)
}

/// Lists a project's items with the resource's filters (names resolved), one page or `all`.
pub fn list(call: &Call<'_>, args: &Args, resource: &Resource, extra: &[(&str, Option<String>)]) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let project = args.required_int("project_id")?;
    let mut resolver = Resolver::new(&api, project);
    let mappings = resource.list_filters();
    let what = format!("{} of project {project}", plural(resource.noun));
    let filters = list_filters(&mut resolver, &mappings, args, project, extra)?;
    let listed = list_page(&api, args, resource.path, &filters, &what, resource.compact)?;
    // An empty list shows no name to check: a kept id that no longer means the name asked for
    // (renamed, or the name given to another) would hide the items, so the names are read again.
    let empty = listed["items"].as_array().is_some_and(Vec::is_empty);
    let unsure = (empty && resolver.used_kept()) || resolver.misnamed(&listed["items"], &mappings, args);
    if !unsure {
        return Ok(listed);
    }
    resolver.refresh()?;
    let refreshed = list_filters(&mut resolver, &mappings, args, project, extra)?;
    if refreshed == filters {
        return Ok(listed);
    }
    list_page(&api, args, resource.path, &refreshed, &what, resource.compact)
}

/// The query of a list: the project, each filter the caller gave (names resolved), and `extra`.
fn list_filters<'m>(
    resolver: &mut Resolver<'_, '_>,
    mappings: &'m [Mapping],
    args: &Args,
    project: i64,
    extra: &[(&'m str, Option<String>)],
) -> ToolResult<Vec<(&'m str, Option<String>)>> {
    let mut filters: Vec<(&str, Option<String>)> = vec![("project", Some(project.to_string()))];
    for mapping in mappings.iter().filter(|mapping| args.has(mapping.arg)) {
        let value = resolver.value(mapping, args.raw(mapping.arg))?;
        let text = match (&mapping.conv, &value) {
            (Conv::Tags, Value::Array(tags)) => tags.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
            (_, Value::Null) => "null".to_owned(),
            (_, Value::String(text)) => text.clone(),
            (_, other) => other.to_string(),
        };
        filters.push((mapping.taiga, Some(text)));
    }
    filters.extend_from_slice(extra);
    Ok(filters)
}

/// Reads one item.
pub fn get(call: &Call<'_>, args: &Args, resource: &Resource) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let id = id_of(args, resource)?;
    let item = api
        .taiga()
        .get(&format!("{}/{id}", resource.path), &what(resource, id))?;
    api.keeper().learn_item(resource.path, &item);
    Ok((resource.full)(&item))
}

/// Reads one item by its project and `ref` (the `#ref` of Taiga's UI).
pub fn get_by_ref(call: &Call<'_>, args: &Args, resource: &Resource) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let project = args.required_int("project_id")?;
    let reference = args.required_int("ref")?;
    let path = format!("{}/by_ref?ref={reference}&project={project}", resource.path);
    let item = api
        .taiga()
        .get(&path, &format!("{} #{reference} of project {project}", resource.noun))?;
    Ok((resource.full)(&item))
}

/// Creates an item in `project` from the mapped arguments plus `fixed` fields.
pub fn create(
    call: &Call<'_>,
    args: &Args,
    resource: &Resource,
    project: i64,
    fixed: Map<String, Value>,
) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let writable = resource.writable();
    let mut resolver = Resolver::new(&api, project);
    let created = resolver.write(&writable, args, |mut body| {
        body.insert("project".into(), project.into());
        body.extend(fixed.clone());
        api.taiga()
            .post(resource.path, &Value::Object(body), &format!("project {project}"))
    })?;
    let created = mend_renamed(&api, &mut resolver, resource, &writable, args, created)?;
    api.keeper().learn_item(resource.path, &created);
    Ok((resource.full)(&created))
}

/// Writes again the fields whose kept name Taiga's answer shows to mean another value now (a
/// status renamed, and its old name given to another, since the names were kept), at the version
/// the answer gives.
fn mend_renamed(
    api: &Api<'_>,
    resolver: &mut Resolver<'_, '_>,
    resource: &Resource,
    mappings: &[Mapping],
    args: &Args,
    answer: Value,
) -> ToolResult<Value> {
    let mut fixes = resolver.renamed(&answer, mappings, args)?;
    let Some(id) = answer["id"].as_i64() else {
        return Ok(answer);
    };
    if fixes.is_empty() {
        return Ok(answer);
    }
    fixes.insert("version".into(), answer["version"].clone());
    api.taiga().patch(
        &format!("{}/{id}", resource.path),
        &Value::Object(fixes),
        &what(resource, id),
    )
}

/// The project a Taiga item belongs to; an answer without one is Taiga's fault, never project 0.
pub fn project_in(item: &Value) -> ToolResult<i64> {
    item["project"]
        .as_i64()
        .ok_or_else(|| ToolError::internal("Taiga's item has no project"))
}

/// Updates an item from the mapped arguments, with `version` for resources that have one.
pub fn update(call: &Call<'_>, args: &Args, resource: &Resource) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let id = id_of(args, resource)?;
    let writable = resource.writable();
    if !writable.iter().any(|mapping| args.has(mapping.arg)) {
        let names: Vec<&str> = writable.iter().map(|m| m.arg).collect();
        return Err(ToolError::new(
            ErrorCode::InvalidInput,
            format!("nothing to update: give at least one of {}", names.join(", ")),
        )
        .with("field", writable.first().map_or("", |m| m.arg)));
    }
    let needs_project = writable
        .iter()
        .any(|m| args.raw(m.arg).is_string() && matches!(m.conv, Conv::Lookup(_) | Conv::Member));
    let project = if needs_project {
        item_project(&api, resource, id)?
    } else {
        0
    };
    let mut resolver = Resolver::new(&api, project);
    let updated = resolver.write(&writable, args, |mut body| patch(&api, args, resource, id, &mut body))?;
    let updated = mend_renamed(&api, &mut resolver, resource, &writable, args, updated)?;
    api.keeper().learn_item(resource.path, &updated);
    Ok((resource.full)(&updated))
}

/// The project of an item: learnt from an earlier answer, else read.
pub fn item_project(api: &Api<'_>, resource: &Resource, id: i64) -> ToolResult<i64> {
    if let Some(project) = api.keeper().project_of(resource.path, id) {
        return Ok(project);
    }
    let item = current(api, resource, id)?;
    api.keeper().learn_item(resource.path, &item);
    project_in(&item)
}

fn current(api: &Api<'_>, resource: &Resource, id: i64) -> ToolResult<Value> {
    api.taiga().get(&format!("{}/{id}", resource.path), &what(resource, id))
}

/// PATCHes `body` (adding `version` when the resource has one) and explains a conflict.
fn patch(api: &Api<'_>, args: &Args, resource: &Resource, id: i64, body: &mut Map<String, Value>) -> ToolResult<Value> {
    let version = args.int("version");
    if resource.versioned {
        let version = version.ok_or_else(|| ToolError::invalid("version", "is required"))?;
        body.insert("version".into(), version.into());
    }
    let path = format!("{}/{id}", resource.path);
    match api
        .taiga()
        .patch(&path, &Value::Object(body.clone()), &what(resource, id))
    {
        Ok(updated) => Ok(updated),
        Err(err) if err.code == ErrorCode::VersionConflict => Err(conflict(api, resource, id, version.unwrap_or(0))),
        Err(err) if err.code == ErrorCode::PermissionDenied => Err(missing_or_denied(api, resource, id, err)),
        Err(err) => Err(err),
    }
}

/// Taiga answers 403 for writes to missing ids; tell the caller which it is.
fn missing_or_denied(api: &Api<'_>, resource: &Resource, id: i64, denied: ToolError) -> ToolError {
    match current(api, resource, id) {
        Err(err) if err.code == ErrorCode::NotFound => err,
        _ => denied,
    }
}

/// A VERSION_CONFLICT that gives the current version and the fields changed since `given`.
fn conflict(api: &Api<'_>, resource: &Resource, id: i64, given: i64) -> ToolError {
    let Ok(item) = current(api, resource, id) else {
        return ToolError::new(
            ErrorCode::VersionConflict,
            format!("{} changed since version {given}", what(resource, id)),
        );
    };
    let current_version = item["version"].as_i64().unwrap_or_default();
    let mut changed: Vec<String> = Vec::new();
    if let Some(history) = resource.history {
        let since = usize::try_from(current_version - given).unwrap_or_default();
        let path = format!(
            "/history/{history}/{id}?type=activity&page_size={}",
            since.clamp(1, 100)
        );
        if let Ok(entries) = api.taiga().get(&path, &what(resource, id)) {
            for entry in entries
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .take(since)
            {
                let fields = entry["diff"].as_object().map(|diff| diff.keys()).into_iter().flatten();
                // `<field>_html` entries are Taiga's rendering of a field already listed.
                for field in fields.filter(|field| !field.ends_with("_html")) {
                    let name = arg_name(resource, field);
                    if !changed.contains(&name) {
                        changed.push(name);
                    }
                }
            }
        }
    }
    ToolError::new(
        ErrorCode::VersionConflict,
        format!(
            "{} was changed by someone else since version {given} (now version {current_version}); \
             read it again, then retry with version {current_version}",
            what(resource, id)
        ),
    )
    .with("current_version", current_version)
    .with("changed_fields", changed)
}

fn arg_name(resource: &Resource, taiga_field: &str) -> String {
    resource
        .writable()
        .iter()
        .find(|m| m.taiga == taiga_field)
        .map_or(taiga_field, |m| m.arg)
        .to_owned()
}

/// Deletes an item. For versioned resources the given version must still be the current one, so
/// nothing changed since it was read is deleted by mistake.
pub fn delete(call: &Call<'_>, args: &Args, resource: &Resource) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let id = id_of(args, resource)?;
    if resource.versioned {
        let given = args.required_int("version")?;
        let item = current(&api, resource, id)?;
        let now = item["version"].as_i64().unwrap_or_default();
        if now != given {
            return Err(conflict(&api, resource, id, given));
        }
    }
    api.taiga()
        .delete(&format!("{}/{id}", resource.path), &what(resource, id))?;
    Ok(json!({"deleted": true, "id": id}))
}

/// Sets (`user` given) or clears the assignee. User stories also clear `assigned_users`, so an
/// unassigned story has no assignee at all.
pub fn assign(call: &Call<'_>, args: &Args, resource: &Resource, user_arg: Option<&'static str>) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let id = id_of(args, resource)?;
    let item = current(&api, resource, id)?;
    let project = project_in(&item)?;
    let mut body = Map::new();
    match user_arg {
        Some(arg) => {
            let user = Resolver::new(&api, project).member(arg, args.raw(arg))?;
            body.insert("assigned_to".into(), user.into());
        }
        None => {
            body.insert("assigned_to".into(), Value::Null);
            if item.get("assigned_users").is_some() {
                body.insert("assigned_users".into(), json!([]));
            }
        }
    }
    if resource.versioned {
        body.insert("version".into(), item["version"].clone());
    }
    let updated = api.taiga().patch(
        &format!("{}/{id}", resource.path),
        &Value::Object(body),
        &what(resource, id),
    )?;
    Ok((resource.full)(&updated))
}

/// The version a comment is sent at without reading the item first. Taiga checks a PATCH's version
/// field by field (taiga-back `occ/mixins.py`; recordings 216-222): a stale version is refused only
/// when a field it sends changed since, and a comment is no field, so any version from the first
/// to the current one is accepted (217).
const COMMENT_VERSION: i64 = 1;

/// Adds a comment: one PATCH with `comment`, no read first.
pub fn add_comment(api: &Api<'_>, resource: &Resource, id: i64, text: &str) -> ToolResult<Value> {
    let body = json!({"comment": text, "version": COMMENT_VERSION});
    let updated = api
        .taiga()
        .patch(&format!("{}/{id}", resource.path), &body, &what(resource, id))
        .map_err(|err| match err.code {
            ErrorCode::PermissionDenied => missing_or_denied(api, resource, id, err),
            _ => err,
        })?;
    Ok(json!({
        "added": true,
        "id": id,
        "version": updated["version"],
        "total_comments": updated.get("total_comments").cloned().unwrap_or(Value::Null),
    }))
}

/// Lists an item's comments, newest first.
pub fn list_comments(api: &Api<'_>, resource: &Resource, id: i64) -> ToolResult<Value> {
    let entries = api.taiga().get(&comments_path(resource, id)?, &what(resource, id))?;
    Ok(comments_of(&entries))
}

/// Where Taiga keeps an item's comments: its history, comments only.
pub fn comments_path(resource: &Resource, id: i64) -> ToolResult<String> {
    let history = resource
        .history
        .ok_or_else(|| ToolError::internal("resource without history"))?;
    Ok(format!("/history/{history}/{id}?type=comment"))
}

/// `{comments: [{id, author, text, created_at}]}` from an item's history entries, as Taiga orders
/// them (newest first).
pub fn comments_of(entries: &Value) -> Value {
    let comments: Vec<Value> = entries
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|entry| entry["comment"].as_str().is_some_and(|c| !c.is_empty()))
        .map(|entry| {
            json!({
                "id": entry["id"],
                "author": entry["user"]["username"],
                "text": entry["comment"],
                "created_at": entry["created_at"],
            })
        })
        .collect();
    json!({"comments": comments})
}

/// A noun's plural, as the resources' nouns need it: `user story`, `user stories`.
fn plural(noun: &str) -> String {
    match noun.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{noun}s"),
    }
}
