//! Responses exactly as Taiga shapes them: its error bodies, its headers and its pagination.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A handler's answer: its response, or Taiga's refusal (an error status and body) that ends it
/// early with `?` or `return Err(..)`.
pub type Answer = Result<Response, Response>;

/// Taiga's page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: usize = 30;
/// Taiga's cap on `page_size`.
pub const MAX_PAGE_SIZE: usize = 1000;

const EXPOSE_HEADERS: &str = "x-pagination-count,x-paginated,x-paginated-by,x-pagination-current,x-pagination-next,\
x-pagination-prev,x-site-host,x-site-register,taiga-info-total-opened-milestones,taiga-info-total-closed-milestones,\
taiga-info-backlog-total-userstories,taiga-info-userstories-without-swimlane,taiga-info-project-memberships,\
taiga-info-project-is-private,taiga-info-order-updated";

/// A JSON response with Taiga's common headers.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-expose-headers",
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
    response
}

/// 200 with a body.
pub fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, &body)
}

/// 201 with a body.
pub fn created(body: Value) -> Response {
    json_response(StatusCode::CREATED, &body)
}

/// 204 with an empty body and no content type.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The APIException shape: `{"_error_message", "_error_type"}`.
pub fn api_error(status: StatusCode, message: &str, class: &str) -> Response {
    json_response(
        status,
        &json!({"_error_message": message, "_error_type": format!("taiga.base.exceptions.{class}")}),
    )
}

/// 403 PermissionDenied.
pub fn forbidden() -> Response {
    api_error(
        StatusCode::FORBIDDEN,
        "You do not have permission to perform this action.",
        "PermissionDenied",
    )
}

/// Django's Http404: `{"_error_message": "..."}` with no `_error_type`.
pub fn not_found(message: &str) -> Response {
    json_response(StatusCode::NOT_FOUND, &json!({"_error_message": message}))
}

/// 404 for a missing object of a model, as `get_object_or_404` words it.
pub fn no_match(model: &str) -> Response {
    not_found(&format!("No {model} matches the given query."))
}

/// 400 with field errors `{field: [messages]}`.
pub fn field_errors(errors: Value) -> Response {
    json_response(StatusCode::BAD_REQUEST, &errors)
}

/// 400 for a missing required field.
pub fn required(field: &str) -> Response {
    field_errors(json!({field: ["This field is required."]}))
}

fn with_www_authenticate(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"api\""),
    );
    response
}

/// What Taiga answers for something the caller may not see: 401 to an anonymous request, 403 to
/// a user.
pub fn not_visible(user: Option<i64>) -> Response {
    match user {
        None => not_authenticated(),
        Some(_) => forbidden(),
    }
}

/// 401 for an anonymous request to something that needs a user.
pub fn not_authenticated() -> Response {
    with_www_authenticate(api_error(
        StatusCode::UNAUTHORIZED,
        "Authentication credentials were not provided.",
        "NotAuthenticated",
    ))
}

/// 401 for a token that is not valid (simplejwt's shape).
pub fn token_not_valid() -> Response {
    with_www_authenticate(json_response(
        StatusCode::UNAUTHORIZED,
        &json!({
            "detail": "Given token not valid for any token type",
            "code": "token_not_valid",
            "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]
        }),
    ))
}

/// 401 for a bad refresh token.
pub fn refresh_not_valid() -> Response {
    with_www_authenticate(json_response(
        StatusCode::UNAUTHORIZED,
        &json!({"detail": "Token is invalid or expired", "code": "token_not_valid"}),
    ))
}

/// 401 for a bad username or password.
pub fn invalid_credentials() -> Response {
    with_www_authenticate(json_response(
        StatusCode::UNAUTHORIZED,
        &json!({"detail": "No active account found with the given credentials", "code": "invalid_credentials"}),
    ))
}

/// Django's HTML 404 page for a URL no route matches (a trailing slash, for one).
pub fn html_not_found(path: &str) -> Response {
    let mut response = (
        StatusCode::NOT_FOUND,
        format!("<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n<!-- {path} -->\n"),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    response
}

/// 405 in Taiga's shape.
pub fn method_not_allowed(method: &str) -> Response {
    api_error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("Method '{method}' not allowed."),
        "MethodNotAllowed",
    )
}

/// The request's absolute URL parts needed for `X-Pagination-Next/Prev`.
pub struct PageRequest<'a> {
    /// `http://host:port/api/v1/...` without the query.
    pub url: &'a str,
    /// Query pairs in order.
    pub query: &'a [(String, String)],
    /// Request headers.
    pub headers: &'a HeaderMap,
}

impl PageRequest<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn link(&self, page: usize) -> String {
        let mut pairs: Vec<String> = self
            .query
            .iter()
            .filter(|(key, _)| key != "page")
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        pairs.push(format!("page={page}"));
        format!("{}?{}", self.url, pairs.join("&"))
    }
}

/// Taiga's pagination over an already filtered and ordered list.
pub fn paginate(request: &PageRequest<'_>, items: Vec<Value>) -> Response {
    if request.headers.contains_key("x-disable-pagination") {
        return ok(Value::Array(items));
    }
    let page_size = request
        .param("page_size")
        .and_then(|size| size.parse::<usize>().ok())
        .filter(|size| *size > 0)
        .map_or(DEFAULT_PAGE_SIZE, |size| size.min(MAX_PAGE_SIZE));
    let count = items.len();
    let pages = count.div_ceil(page_size).max(1);
    let page = match request.param("page") {
        None => 1,
        Some("last") => pages,
        Some(text) => match text.parse::<usize>() {
            Ok(page) if (1..=pages).contains(&page) => page,
            _ => return not_found("Page is not 'last', nor can it be converted to an int."),
        },
    };
    let start = (page - 1) * page_size;
    let slice: Vec<Value> = items.into_iter().skip(start).take(page_size).collect();
    let mut response = ok(Value::Array(slice));
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    if !request.headers.contains_key("x-lazy-pagination") {
        set("x-pagination-count", count.to_string());
    }
    set("x-paginated", "true".to_owned());
    set("x-paginated-by", page_size.to_string());
    set("x-pagination-current", page.to_string());
    if page < pages {
        set("x-pagination-next", request.link(page + 1));
    }
    if page > 1 {
        set("x-pagination-prev", request.link(page - 1));
    }
    response
}
