//! Attachments of user stories, tasks, issues, epics and wiki pages: list, upload, describe,
//! delete, read back. Files travel as text or base64 in the tool's arguments and results, within
//! the deployment's `max-attachment-bytes`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::api::Api;
use crate::call::Call;
use crate::error::{ToolError, ToolResult};
use crate::resource::Resource;
use crate::schema::{Field, Kind, SESSION};
use crate::taiga::Multipart;
use crate::tool::{Annotations, Tool};
use crate::tools::target::{ITEM_ID, WITH_WIKI, project_of, resource, resource_field};
use crate::validate::Args;

const RESOURCE: Field = resource_field(WITH_WIKI);
const ATTACHMENT_ID: Field = Field::required("attachment_id", Kind::Id, "From list_attachments.");
/// The schema's bound on file content: base64 of the largest cap a deployment may set (2 MiB);
/// the deployment's own cap is checked on every call.
const MAX_CONTENT_CHARS: usize = 2_796_204;

fn path(resource: &Resource) -> String {
    format!("{}/attachments", resource.path)
}

/// An attachment as the bridge shows it. Its `url` loses any query (protected media carry a
/// token there) and Taiga's `#_taiga-refresh` fragment.
fn attachment(item: &Value) -> Value {
    let url = item["url"]
        .as_str()
        .map(|url| url.split(['?', '#']).next().unwrap_or_default().to_owned());
    json!({
        "id": item["id"],
        "name": item["name"],
        "size": item["size"],
        "description": item["description"],
        "is_deprecated": item["is_deprecated"],
        "created_date": item["created_date"],
        "url": url,
    })
}

fn attachment_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "size": {"type": "integer"},
            "description": {"type": "string"},
            "url": {"type": ["string", "null"]}
        },
        "required": ["id", "name"]
    })
}

pub const LIST_ATTACHMENTS: Tool = Tool {
    name: "list_attachments",
    title: "List attachments",
    description: "List the files attached to a user story, task, issue, epic or wiki page.",
    fields: &[SESSION, RESOURCE, ITEM_ID],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {"items": {"type": "array", "items": attachment_schema()}},
            "required": ["items"]
        })
    },
    annotations: Annotations::READ,
    run: |call, args| {
        let api = Api::open(call, args)?;
        let resource = resource(args, WITH_WIKI)?;
        let id = args.required_int("id")?;
        let project = project_of(&api, resource, id)?;
        let listed = api.taiga().get(
            &format!("{}?object_id={id}&project={project}", path(resource)),
            &format!("the attachments of {} {id}", resource.noun),
        )?;
        let items: Vec<Value> = listed.as_array().into_iter().flatten().map(attachment).collect();
        Ok(json!({"items": items}))
    },
};

pub const UPLOAD_ATTACHMENT: Tool = Tool {
    name: "upload_attachment",
    title: "Upload an attachment",
    description: "Attach a file to a user story, task, issue, epic or wiki page: its text, or its bytes in \
        base64. The file name gives its type. Files are capped by the deployment (1 MiB by default).",
    fields: &[
        SESSION,
        RESOURCE,
        ITEM_ID,
        Field::required(
            "file_name",
            Kind::Text { min: 1, max: 255 },
            "With its extension, e.g. notes.md.",
        ),
        Field::optional(
            "text",
            Kind::Text {
                min: 0,
                max: MAX_CONTENT_CHARS,
            },
            "The content as text (UTF-8). Give text or base64.",
        ),
        Field::optional(
            "base64",
            Kind::Text {
                min: 0,
                max: MAX_CONTENT_CHARS,
            },
            "The content as base64.",
        ),
        Field::optional("description", Kind::Text { min: 0, max: 500 }, "What it is."),
    ],
    output_schema: attachment_schema,
    annotations: Annotations::CREATE,
    run: upload,
};

fn upload(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let name = file_name(args.required_text("file_name")?)?;
    if args.text("description").is_some_and(|text| text.contains(['\r', '\n'])) {
        return Err(ToolError::invalid("description", "must be one line"));
    }
    let bytes = match (args.text("text"), args.text("base64")) {
        (Some(text), None) => text.as_bytes().to_vec(),
        (None, Some(encoded)) => {
            let compact: String = encoded.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            STANDARD
                .decode(compact)
                .map_err(|_| ToolError::invalid("base64", "is not valid base64 (RFC 4648, with + and /)"))?
        }
        _ => {
            return Err(ToolError::invalid(
                "text",
                "give the content as text or as base64, one of them",
            ));
        }
    };
    let cap = call.context.settings.max_attachment_bytes;
    if bytes.len() as u64 > cap {
        let field = if args.has("text") { "text" } else { "base64" };
        return Err(ToolError::invalid(
            field,
            format!(
                "the file is {} bytes, over this bridge's cap of {cap} bytes; attach it in Taiga's web page, \
                 or ask the operator to raise MAX_ATTACHMENT_KB",
                bytes.len()
            ),
        ));
    }
    let api = Api::open(call, args)?;
    let resource = resource(args, WITH_WIKI)?;
    let id = args.required_int("id")?;
    let project = project_of(&api, resource, id)?;
    let form = Multipart::new()
        .text("object_id", &id.to_string())
        .text("project", &project.to_string())
        .text("description", args.text("description").unwrap_or_default())
        .file("attached_file", name, mime_type(name), bytes)
        .with_boundary(|| call.platform.random_bytes());
    let created = api.taiga().post_multipart(
        &path(resource),
        &form,
        &format!("the attachments of {} {id}", resource.noun),
    )?;
    Ok(attachment(&created))
}

/// A file name Taiga can store and a browser can offer to save: no path, no control character.
/// Unicode's format characters (category Cf) and the line and paragraph separators: invisible,
/// they make a name read otherwise than it is (`invoice\u{202e}fdp.exe` shows as "invoiceexe.pdf").
/// Listed by hand: a Unicode table crate would weigh more in the component than this module.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    )
}

fn file_name(name: &str) -> ToolResult<&str> {
    let name = name.trim();
    if name.is_empty()
        || name.contains(['/', '\\'])
        || name.chars().any(|c| c.is_control() || invisible(c))
        || name == "."
        || name == ".."
    {
        return Err(ToolError::invalid(
            "file_name",
            "must be a plain file name without a path, control or invisible format characters, e.g. notes.md",
        ));
    }
    Ok(name)
}

/// The MIME type of a file name's extension. A short table of what teams attach: a MIME crate's
/// full table would add more to the component than the rest of this module.
pub fn mime_type(name: &str) -> &'static str {
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "txt" | "log" => "text/plain",
        "md" | "markdown" => "text/markdown",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "xml" => "application/xml",
        "yaml" | "yml" => "application/yaml",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        _ => "application/octet-stream",
    }
}

pub const UPDATE_ATTACHMENT: Tool = Tool {
    name: "update_attachment",
    title: "Describe an attachment",
    description: "Change an attachment's description, or mark it deprecated.",
    fields: &[
        SESSION,
        RESOURCE,
        ATTACHMENT_ID,
        Field::optional("description", Kind::Text { min: 0, max: 500 }, "New description."),
        Field::optional("is_deprecated", Kind::Bool, "Marks an outdated file."),
    ],
    output_schema: attachment_schema,
    annotations: Annotations::UPDATE,
    run: |call, args| {
        let mut body = serde_json::Map::new();
        for field in ["description", "is_deprecated"] {
            if args.has(field) {
                body.insert(field.into(), args.raw(field).clone());
            }
        }
        if body.is_empty() {
            return Err(ToolError::invalid("description", "give a description or is_deprecated"));
        }
        let api = Api::open(call, args)?;
        let resource = resource(args, WITH_WIKI)?;
        let id = args.required_int("attachment_id")?;
        let updated = api.taiga().patch(
            &format!("{}/{id}", path(resource)),
            &Value::Object(body),
            &format!("attachment {id}"),
        )?;
        Ok(attachment(&updated))
    },
};

pub const DELETE_ATTACHMENT: Tool = Tool {
    name: "delete_attachment",
    title: "Delete an attachment",
    description: "Delete an attached file. This cannot be undone.",
    fields: &[SESSION, RESOURCE, ATTACHMENT_ID],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {"deleted": {"type": "boolean"}, "attachment_id": {"type": "integer"}},
            "required": ["deleted", "attachment_id"]
        })
    },
    annotations: Annotations::DELETE,
    run: |call, args| {
        let api = Api::open(call, args)?;
        let resource = resource(args, WITH_WIKI)?;
        let id = args.required_int("attachment_id")?;
        api.taiga()
            .delete(&format!("{}/{id}", path(resource)), &format!("attachment {id}"))?;
        Ok(json!({"deleted": true, "attachment_id": id}))
    },
};

pub const GET_ATTACHMENT: Tool = Tool {
    name: "get_attachment",
    title: "Read an attachment",
    description: "Read an attached file back: as text when it is UTF-8 text, else as base64. Files over the \
        deployment's cap are refused with their url.",
    fields: &[SESSION, RESOURCE, ATTACHMENT_ID],
    output_schema: || {
        let mut schema = attachment_schema();
        schema["properties"]["content_type"] = json!({"type": "string"});
        schema["properties"]["encoding"] = json!({"type": "string", "enum": ["text", "base64"]});
        schema["properties"]["content"] = json!({"type": "string"});
        schema["required"] = json!(["id", "name", "encoding", "content"]);
        schema
    },
    annotations: Annotations::READ,
    run: read_back,
};

fn read_back(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let resource = resource(args, WITH_WIKI)?;
    let id = args.required_int("attachment_id")?;
    let what = format!("attachment {id}");
    let found = api.taiga().get(&format!("{}/{id}", path(resource)), &what)?;
    let mut out = attachment(&found);
    let cap = call.context.settings.max_attachment_bytes;
    let size = found["size"].as_u64().unwrap_or(0);
    if size > cap {
        return Err(ToolError::invalid(
            "attachment_id",
            format!("the file is {size} bytes, over this bridge's cap of {cap} bytes; open its url in Taiga instead"),
        )
        .with("url", out["url"].clone()));
    }
    let url = found["url"]
        .as_str()
        .ok_or_else(|| ToolError::internal("Taiga's attachment has no url"))?;
    let response = api.taiga().download(url, cap, &what)?;
    // A web server that does not know a type (nginx and `.md`) says only octet-stream; the name
    // says more.
    let content_type = match response.header("content-type") {
        Some(given) if !given.starts_with("application/octet-stream") => given.to_owned(),
        _ => mime_type(found["name"].as_str().unwrap_or_default()).to_owned(),
    };
    let (encoding, content) = match String::from_utf8(response.body) {
        Ok(text) if !text.contains('\0') => ("text", text),
        Ok(text) => ("base64", STANDARD.encode(text.as_bytes())),
        Err(err) => ("base64", STANDARD.encode(err.as_bytes())),
    };
    out["content_type"] = content_type.into();
    out["encoding"] = encoding.into();
    out["content"] = content.into();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain_and_typed_by_extension() {
        assert_eq!(file_name(" notes.md ").unwrap(), "notes.md");
        for bad in [
            "",
            "../etc/passwd",
            "a\\b",
            "..",
            "line\nbreak",
            "invoice\u{202e}fdp.exe",
            "zero\u{200b}width.txt",
            "bom\u{feff}.txt",
            "line\u{2028}sep.txt",
            "para\u{2029}sep.txt",
            "tag\u{e0041}.txt",
        ] {
            assert!(file_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(mime_type("Minutes.PDF"), "application/pdf");
        assert_eq!(mime_type("notes.md"), "text/markdown");
        assert_eq!(mime_type("README"), "application/octet-stream");
    }
}
