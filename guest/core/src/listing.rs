//! The one paginated-list path every resource shares.

use serde_json::{Value, json};

use crate::error::{ErrorCode, ToolError, ToolResult};
use crate::schema::{Field, Kind};
use crate::session::Session;
use crate::taiga::with_query;
use crate::tools::Call;
use crate::validate::Args;

/// Largest page a client may ask for: keeps one result small enough for a model's context.
pub const MAX_PAGE_SIZE: i64 = 100;
/// Taiga's own default page size.
pub const DEFAULT_PAGE_SIZE: i64 = 30;

/// The `page` argument.
pub const PAGE: Field = Field::optional(
    "page",
    Kind::Integer { min: 1, max: 100_000 },
    "Page number, from 1 (default 1).",
);
/// The `page_size` argument.
pub const PAGE_SIZE: Field = Field::optional(
    "page_size",
    Kind::Integer {
        min: 1,
        max: MAX_PAGE_SIZE,
    },
    "Items per page, 1 to 100 (default 30).",
);

/// Fetches one page of `path` with `filters`, maps each item through `compact`, and returns
/// `{items, total, page, page_size, has_next}`.
pub fn list_page(
    call: &Call<'_>,
    session: &Session,
    args: &Args,
    path: &str,
    filters: &[(&str, Option<String>)],
    what: &str,
    compact: fn(&Value) -> Value,
) -> ToolResult<Value> {
    let page = args.int("page").unwrap_or(1);
    let page_size = args.int("page_size").unwrap_or(DEFAULT_PAGE_SIZE);
    let mut params = filters.to_vec();
    params.push(("page", Some(page.to_string())));
    params.push(("page_size", Some(page_size.to_string())));
    let base = session.taiga_url()?;
    let fetched = call
        .taiga(&base)
        .with_token(&session.auth_token)
        .get_page(&with_query(path, &params), what);
    let listing = match fetched {
        Err(err) if err.code == ErrorCode::NotFound && page > 1 => {
            return Err(ToolError::invalid(
                "page",
                format!("page {page} is past the last page of {what}"),
            ));
        }
        other => other?,
    };
    let items: Vec<Value> = listing.items.iter().map(compact).collect();
    Ok(json!({
        "items": items,
        "total": listing.total,
        "page": page,
        "page_size": page_size,
        "has_next": listing.has_next,
    }))
}
