//! The sign-in page: plain HTML, no script, no style, no external asset, under a Content-Security-
//! Policy that allows nothing but posting the form back to this origin. Every text it shows (the
//! Taiga server, the username typed, Taiga's messages) is escaped.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use html_escape::{encode_double_quoted_attribute as attribute, encode_text as text};

/// The cookie that carries a link's CSRF token, matched against the form's field.
pub const CSRF_COOKIE: &str = "taiga_sign_in_csrf";

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the form shows.
pub struct Form<'a> {
    /// The Taiga server the user signs in to.
    pub taiga_url: &'a str,
    /// The username to fill in.
    pub username: &'a str,
    /// The link's CSRF token.
    pub csrf: &'a str,
    /// Why the last attempt failed, if it did.
    pub error: Option<&'a str>,
    /// Whether the page is served over HTTPS (the cookie is then `Secure`).
    pub secure: bool,
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>{}</title>\n</head>\n<body>\n<main>\n{body}</main>\n\
         </body>\n</html>\n",
        text(title)
    )
}

fn respond(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The sign-in form, setting the CSRF cookie the post must bring back.
pub fn form(status: StatusCode, form: &Form<'_>) -> Response {
    let error = form
        .error
        .map(|message| format!("<p role=\"alert\"><strong>{}</strong></p>\n", text(message)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in to Taiga</h1>\n\
         <p>Sign in to <code>{taiga}</code> for the assistant that asked. Your password goes to Taiga, not to the \
         assistant; the bridge keeps only the session.</p>\n{error}\
         <form method=\"post\" action=\"\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <p><label for=\"username\">Username or email</label><br>\n\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required value=\"{username}\"></p>\n\
         <p><label for=\"password\">Password</label><br>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></p>\n\
         <p><button type=\"submit\">Sign in</button></p>\n</form>\n",
        taiga = text(form.taiga_url),
        csrf = attribute(form.csrf),
        username = attribute(form.username),
    );
    let mut response = respond(status, document("Sign in to Taiga", &body));
    let secure = if form.secure { "; Secure" } else { "" };
    let cookie = format!(
        "{CSRF_COOKIE}={}; Path=/sign-in/; HttpOnly; SameSite=Strict{secure}",
        form.csrf
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The page after a successful sign-in.
pub fn signed_in(username: &str) -> Response {
    let body = format!(
        "<h1>Signed in</h1>\n<p>You are signed in to Taiga as <strong>{}</strong>. You can close this tab.</p>\n",
        text(username)
    );
    respond(StatusCode::OK, document("Signed in to Taiga", &body))
}

/// The page for a link that has expired, was used, or never existed.
pub fn gone() -> Response {
    respond(
        StatusCode::GONE,
        document(
            "Sign-in link expired",
            "<h1>This sign-in link has expired or was already used</h1>\n\
             <p>Ask your assistant to sign in to Taiga again for a new link. You can close this tab.</p>\n",
        ),
    )
}

/// The page for a post that did not come from this link's form.
pub fn forbidden() -> Response {
    respond(
        StatusCode::FORBIDDEN,
        document(
            "Sign-in refused",
            "<h1>This form was not sent from its sign-in page</h1>\n\
             <p>Open the sign-in link your assistant gave you again, and sign in from there.</p>\n",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn html(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn every_text_is_escaped_and_the_policy_allows_nothing_else() {
        let hostile = "<script>alert(1)</script>\"'";
        let response = form(
            StatusCode::OK,
            &Form {
                taiga_url: hostile,
                username: hostile,
                csrf: "token",
                error: Some(hostile),
                secure: true,
            },
        );
        let headers = response.headers().clone();
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
        let cookie = headers[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.ends_with("Secure"));
        let page = html(response).await;
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;"), "{page}");
        assert!(
            !page.contains("src=") && !page.contains("href="),
            "no external asset: {page}"
        );
        let done = html(signed_in(hostile)).await;
        assert!(!done.contains("<script>") && done.contains("You can close this tab."));
    }
}
