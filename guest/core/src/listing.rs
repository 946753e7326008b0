//! The one paginated-list path every resource shares.

use serde_json::{Value, json};

use crate::api::Api;
use crate::error::{ErrorCode, ToolError, ToolResult};
use crate::projection::Compact;
use crate::schema::{Field, Kind};
use crate::taiga::{Page, with_query};
use crate::validate::Args;

/// Largest page a client may ask for: keeps one result small enough for a model's context.
pub const MAX_PAGE_SIZE: i64 = 100;
/// Taiga's own default page size.
pub const DEFAULT_PAGE_SIZE: i64 = 30;
/// Most items `all: true` collects.
pub const MAX_ALL_ITEMS: usize = 1000;

/// The `page` argument.
pub const PAGE: Field = Field::optional("page", Kind::Integer { min: 1, max: 100_000 }, "Default 1.");
/// The `page_size` argument.
pub const PAGE_SIZE: Field = Field::optional(
    "page_size",
    Kind::Integer {
        min: 1,
        max: MAX_PAGE_SIZE,
    },
    "Default 30.",
);
/// The `all` argument.
pub const ALL: Field = Field::optional("all", Kind::Bool, "All pages, up to 1000 items.");

fn fetch(
    api: &Api<'_>,
    path: &str,
    filters: &[(&str, Option<String>)],
    page: i64,
    size: i64,
    what: &str,
    compact: &Compact,
) -> ToolResult<Page> {
    let mut params = filters.to_vec();
    params.push(("page", Some(page.to_string())));
    params.push(("page_size", Some(size.to_string())));
    match api.taiga().get_compact_page(&with_query(path, &params), what, compact) {
        Err(err) if err.code == ErrorCode::NotFound && page > 1 => Err(ToolError::invalid(
            "page",
            format!("page {page} is past the last page of {what}"),
        )),
        other => other,
    }
}

/// Fetches one page (or, with `all`, every page up to [`MAX_ALL_ITEMS`]) of `path` with `filters`,
/// builds each item's `compact` form, and returns `{items, total, page, page_size, has_next}`.
pub fn list_page(
    api: &Api<'_>,
    args: &Args,
    path: &str,
    filters: &[(&str, Option<String>)],
    what: &str,
    compact: Compact,
) -> ToolResult<Value> {
    if args.flag("all") == Some(true) {
        let mut items: Vec<Value> = Vec::new();
        let mut total = None;
        let mut page = 1;
        loop {
            let listing = fetch(api, path, filters, page, MAX_PAGE_SIZE, what, &compact)?;
            total = listing.total.or(total);
            // A page without items ends the walk, whatever its `X-Pagination-Next` says: each
            // further request would bring nothing either.
            let has_next = listing.has_next && !listing.items.is_empty();
            items.extend(listing.items);
            if !has_next || items.len() >= MAX_ALL_ITEMS {
                let truncated = has_next || items.len() > MAX_ALL_ITEMS;
                items.truncate(MAX_ALL_ITEMS);
                let count = items.len();
                let mut result = json!({
                    "items": items,
                    "total": total,
                    "page": 1,
                    "page_size": count,
                    "has_next": truncated,
                });
                if truncated {
                    api.call.platform.notice(
                        crate::platform::NoticeLevel::Warning,
                        &format!("{what}: the list stopped at {MAX_ALL_ITEMS} items; Taiga has more"),
                    );
                    result["truncated"] = true.into();
                    result["note"] = format!(
                        "stopped at {MAX_ALL_ITEMS} items; narrow the filters or page through with page and page_size"
                    )
                    .into();
                }
                return Ok(result);
            }
            page += 1;
        }
    }
    let page = args.int("page").unwrap_or(1);
    let page_size = args.int("page_size").unwrap_or(DEFAULT_PAGE_SIZE);
    let listing = fetch(api, path, filters, page, page_size, what, &compact)?;
    Ok(json!({
        "items": listing.items,
        "total": listing.total,
        "page": page,
        "page_size": page_size,
        "has_next": listing.has_next,
    }))
}
