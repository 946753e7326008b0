//! Wiki page tools.

use serde_json::Map;

use crate::api::Api;
use crate::crud;
use crate::error::{ToolError, ToolResult};
use crate::listing::{ALL, PAGE, PAGE_SIZE};
use crate::resource::{WIKI, wiki_full, wiki_schema};
use crate::schema::{Field, Kind, SESSION, VERSION};
use crate::tool::{Annotations, Tool, deleted_schema, list_schema};
use crate::validate::Args;

const PROJECT: Field = Field::required("project_id", Kind::Id, "Project id.");
const WIKI_ID: Field = Field::required("wiki_page_id", Kind::Id, "The wiki page id.");
const SLUG: Field = Field::required(
    "slug",
    Kind::Text { min: 1, max: 255 },
    "Page slug: lower-case words joined by hyphens, e.g. \"release-notes\".",
);
const CONTENT: Field = Field::optional(
    "content",
    Kind::Text { min: 0, max: 100_000 },
    "Page content in Markdown.",
);

fn check_slug(args: &Args) -> ToolResult<()> {
    match args.text("slug") {
        Some(slug)
            if !slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') =>
        {
            Err(ToolError::invalid(
                "slug",
                "may hold only lower-case letters, digits and hyphens",
            ))
        }
        _ => Ok(()),
    }
}

pub const LIST_WIKI_PAGES: Tool = Tool {
    name: "list_wiki_pages",
    title: "List wiki pages",
    description: "List a project's wiki pages (id, slug, version; no content).",
    fields: &[SESSION, PROJECT, PAGE, PAGE_SIZE, ALL],
    output_schema: || list_schema(wiki_schema()),
    annotations: Annotations::READ,
    run: |call, args| crud::list(call, args, &WIKI, &[]),
};

pub const GET_WIKI_PAGE: Tool = Tool {
    name: "get_wiki_page",
    title: "Get a wiki page",
    description: "Get a wiki page with its content and version, by wiki_page_id or by project_id and slug.",
    fields: &[
        SESSION,
        Field::optional("wiki_page_id", Kind::Id, "The wiki page id."),
        Field::optional("project_id", Kind::Id, "Project id, with slug."),
        Field::optional("slug", Kind::Text { min: 1, max: 255 }, "Page slug, with project_id."),
    ],
    output_schema: wiki_schema,
    annotations: Annotations::READ,
    run: |call, args| match (args.int("wiki_page_id"), args.int("project_id"), args.text("slug")) {
        (Some(_), None, None) => crud::get(call, args, &WIKI),
        (None, Some(project), Some(slug)) => {
            let api = Api::open(call, args)?;
            let path = crate::taiga::with_query(
                "/wiki/by_slug",
                &[("slug", Some(slug.to_owned())), ("project", Some(project.to_string()))],
            );
            let page = api
                .taiga()
                .get(&path, &format!("wiki page `{slug}` of project {project}"))?;
            Ok(wiki_full(&page))
        }
        _ => Err(ToolError::invalid(
            "wiki_page_id",
            "give wiki_page_id, or project_id and slug",
        )),
    },
};

pub const CREATE_WIKI_PAGE: Tool = Tool {
    name: "create_wiki_page",
    title: "Create a wiki page",
    description: "Create a wiki page; the slug must be unique in the project.",
    fields: &[
        SESSION,
        PROJECT,
        SLUG,
        Field::required(
            "content",
            Kind::Text { min: 0, max: 100_000 },
            "Page content in Markdown.",
        ),
    ],
    output_schema: wiki_schema,
    annotations: Annotations::CREATE,
    run: |call, args| {
        check_slug(args)?;
        crud::create(call, args, &WIKI, args.required_int("project_id")?, Map::new())
    },
};

pub const UPDATE_WIKI_PAGE: Tool = Tool {
    name: "update_wiki_page",
    title: "Update a wiki page",
    description: "Replace a wiki page's content or slug, at the version you read.",
    fields: &[
        SESSION,
        WIKI_ID,
        VERSION,
        CONTENT,
        Field::optional("slug", Kind::Text { min: 1, max: 255 }, "New slug."),
    ],
    output_schema: wiki_schema,
    annotations: Annotations::UPDATE,
    run: |call, args| {
        check_slug(args)?;
        crud::update(call, args, &WIKI)
    },
};

pub const DELETE_WIKI_PAGE: Tool = Tool {
    name: "delete_wiki_page",
    title: "Delete a wiki page",
    description: "Delete a wiki page. Pass the version you read: if it changed since, nothing is deleted.",
    fields: &[SESSION, WIKI_ID, VERSION],
    output_schema: deleted_schema,
    annotations: Annotations::DELETE,
    run: |call, args| crud::delete(call, args, &WIKI),
};
