//! The routes, one module per Taiga resource.

mod actions;
mod attachments;
pub mod auth;
mod bulk;
mod custom_attributes;
mod epics;
pub mod items;
mod members;
mod misc;
mod projects;
mod search;
mod stats;
mod timeline;

use axum::Router;
use axum::http::{Method, Uri};
use axum::routing::{get, post};

use crate::model::ItemKind;
use actions::Mark;

use crate::context::Sim;
use crate::respond;

/// Every route of the simulated API.
pub fn router() -> Router<Sim> {
    let mut router = Router::new()
        .route("/api/v1/auth", post(auth::login))
        .route("/api/v1/auth/refresh", post(auth::refresh))
        .route("/api/v1/auth/register", post(auth::register))
        .route("/api/v1/project-templates", get(misc::templates))
        .route("/api/v1/users", get(misc::users))
        .route("/api/v1/users/{id}", get(misc::user))
        .route("/api/v1/wiki-links", get(misc::wiki_links).post(misc::create_wiki_link))
        .route("/api/v1/issues/filters_data", get(misc::issue_filters))
        .route("/api/v1/users/me", get(auth::me))
        .route("/api/v1/projects", get(projects::list).post(projects::create))
        .route("/api/v1/projects/by_slug", get(projects::by_slug))
        .route(
            "/api/v1/projects/{id}",
            get(projects::detail).patch(projects::patch).delete(projects::delete),
        )
        .route("/api/v1/memberships", get(members::list).post(members::create))
        .route("/api/v1/memberships/{id}", get(members::detail).delete(members::delete))
        .route("/api/v1/history/{kind}/{id}", get(items::history))
        .route("/api/v1/search", get(search::search))
        .route("/api/v1/timeline/project/{id}", get(timeline::project))
        .route("/api/v1/milestones/{id}/stats", get(stats::sprint))
        .route("/api/v1/projects/{id}/stats", get(stats::project))
        .route("/api/v1/issues/{id}/promote_to_user_story", post(actions::promote))
        .route("/media/{*path}", get(attachments::media))
        .route("/api/v1/wiki/by_slug", get(items::wiki_by_slug))
        .route("/api/v1/userstories/bulk_create", post(bulk::create_stories))
        .route(
            "/api/v1/userstories/bulk_update_milestone",
            post(bulk::update_milestone),
        )
        .route(
            "/api/v1/userstories/bulk_update_backlog_order",
            post(bulk::update_backlog_order),
        )
        .route(
            "/api/v1/epics/{id}/related_userstories",
            get(epics::list).post(epics::create),
        )
        .route(
            "/api/v1/epics/{id}/related_userstories/{user_story}",
            get(epics::detail).delete(epics::delete),
        );
    for name in members::LOOKUPS {
        router = router
            .route(&format!("/api/v1/{name}"), get(move |ctx| members::lookup(ctx, name)))
            .route(
                &format!("/api/v1/{name}/{{id}}"),
                get(move |ctx, id| members::lookup_detail(ctx, name, id)),
            );
    }
    for kind in ItemKind::ALL {
        let base = format!("/api/v1/{}", kind.path());
        router = router
            .route(
                &base,
                get(move |ctx| items::list(ctx, kind)).post(move |ctx, body| items::create(ctx, kind, body)),
            )
            .route(
                &format!("{base}/{{id}}"),
                get(move |ctx, id| items::detail(ctx, kind, id))
                    .patch(move |ctx, id, body| items::patch(ctx, kind, id, body))
                    .delete(move |ctx, id| items::delete(ctx, kind, id)),
            );
        if kind.has_ref() {
            router = router.route(&format!("{base}/by_ref"), get(move |ctx| items::by_ref(ctx, kind)));
        }
        if custom_attributes::KINDS.contains(&kind) {
            let name = kind.history_name().unwrap_or_default();
            router = router
                .route(
                    &format!("/api/v1/{name}-custom-attributes"),
                    get(move |ctx| custom_attributes::list(ctx, kind))
                        .post(move |ctx, body| custom_attributes::create(ctx, kind, body)),
                )
                .route(
                    &format!("{base}/custom-attributes-values/{{id}}"),
                    get(move |ctx, id| custom_attributes::values(ctx, kind, id))
                        .patch(move |ctx, id, body| custom_attributes::set_values(ctx, kind, id, body)),
                );
            for (action, mark, on) in [
                ("watch", Mark::Watch, true),
                ("unwatch", Mark::Watch, false),
                ("upvote", Mark::Vote, true),
                ("downvote", Mark::Vote, false),
            ] {
                router = router.route(
                    &format!("{base}/{{id}}/{action}"),
                    post(move |ctx, id| actions::mark(ctx, kind, mark, on, id)),
                );
            }
            for (list, mark) in [("watchers", Mark::Watch), ("voters", Mark::Vote)] {
                router = router.route(
                    &format!("{base}/{{id}}/{list}"),
                    get(move |ctx, id| actions::users(ctx, kind, mark, id)),
                );
            }
        }
        if kind != ItemKind::Milestone {
            router = router
                .route(
                    &format!("{base}/attachments"),
                    get(move |ctx| attachments::list(ctx, kind))
                        .post(move |ctx, form| attachments::create(ctx, kind, form)),
                )
                .route(
                    &format!("{base}/attachments/{{id}}"),
                    get(move |ctx, id| attachments::detail(ctx, kind, id))
                        .patch(move |ctx, id, body| attachments::patch(ctx, kind, id, body))
                        .put(attachments::put)
                        .delete(move |ctx, id| attachments::delete(ctx, kind, id)),
                );
        }
    }
    router
        .method_not_allowed_fallback(|method: Method| async move { respond::method_not_allowed(method.as_str()) })
        .fallback(|uri: Uri| async move { respond::html_not_found(uri.path()) })
}
