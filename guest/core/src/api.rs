//! A call's authenticated access to Taiga: the session named by `session_id`, its token renewed
//! when it nears its end, and a Taiga client that sends it.

use serde_json::json;

use crate::call::Call;
use crate::error::{ErrorCode, ToolError, ToolResult};
use crate::facts::Keeper;
use crate::meta::ProjectMeta;
use crate::platform::Platform;
use crate::session::{Session, TOKEN_REFRESH_AFTER_MS};
use crate::taiga::{Taiga, TaigaUrl};
use crate::validate::Args;

/// A call's authenticated access to Taiga.
pub struct Api<'c> {
    /// The call.
    pub call: &'c Call<'c>,
    /// Its session.
    pub session: Session,
    base: TaigaUrl,
}

impl<'c> Api<'c> {
    /// Resumes the session named by `session_id`, renewing Taiga's access token with the refresh
    /// token when it is close to its 24-hour end, so that a long session keeps working.
    pub fn open(call: &'c Call<'c>, args: &Args) -> ToolResult<Self> {
        let mut session = call.session(args)?;
        let base = session.taiga_url()?;
        let now = call.platform.now_ms();
        // A session made from a token without its refresh token cannot renew; Taiga's refusal says when it ends.
        if now.saturating_sub(session.token_issued_ms) >= TOKEN_REFRESH_AFTER_MS && !session.refresh_token.is_empty() {
            renew(call, &mut session)?;
            crate::session::update(call.platform, args.required_text("session_id")?, &session)?;
        }
        Ok(Self { call, session, base })
    }

    /// A Taiga client with this session's token.
    pub fn taiga(&self) -> Taiga<'_, dyn Platform + '_> {
        self.call.taiga(&self.base).with_token(&self.session.auth_token)
    }

    /// What is kept between calls for this session's Taiga user.
    pub fn keeper(&self) -> Keeper<'_> {
        Keeper::new(
            self.call.platform,
            &self.session,
            self.call.context.settings.metadata_ttl_seconds,
        )
    }

    /// The project's detail, read from Taiga now; what names need of it is kept for later calls.
    pub fn project_meta(&self, project: i64) -> ToolResult<ProjectMeta> {
        let detail = self.taiga().get(&project_path(project), &project_what(project))?;
        Ok(self.keep(project, detail))
    }

    fn keep(&self, project: i64, detail: serde_json::Value) -> ProjectMeta {
        self.keeper().keep_project(project, &detail);
        ProjectMeta::new(detail)
    }

    /// Reads `path` and the project's names: kept names when there are (unless `fresh`), else the
    /// project's detail, asked for in the same round trip as `path` since neither needs the other.
    pub fn read_beside_project(
        &self,
        path: &str,
        what: &str,
        project: i64,
        fresh: bool,
    ) -> ToolResult<(serde_json::Value, ProjectMeta)> {
        if !fresh && let Some(kept) = self.keeper().project(project) {
            return Ok((self.taiga().get(path, what)?, kept));
        }
        let (project_path, project_what) = (project_path(project), project_what(project));
        let mut answers = self
            .taiga()
            .get_together(&[(path, what), (&project_path, &project_what)])
            .into_iter();
        let (Some(read), Some(detail)) = (answers.next(), answers.next()) else {
            return Err(ToolError::internal(
                "an answer of two requests sent together is missing",
            ));
        };
        // A project that is missing or hidden explains a refused read best.
        let meta = self.keep(project, detail?);
        Ok((read?, meta))
    }

    /// The project's names: kept ones when there are, else read from Taiga.
    pub fn project_facts(&self, project: i64) -> ToolResult<ProjectMeta> {
        match self.keeper().project(project) {
            Some(kept) => Ok(kept),
            None => self.project_meta(project),
        }
    }
}

fn project_path(project: i64) -> String {
    format!("/projects/{project}")
}

fn project_what(project: i64) -> String {
    format!("project {project}")
}

/// Renews the session's access token with its refresh token (Taiga rotates both).
pub fn renew(call: &Call<'_>, session: &mut Session) -> ToolResult<()> {
    let base = session.taiga_url()?;
    let renewed = call
        .taiga(&base)
        .post(
            "/auth/refresh",
            &json!({"refresh": session.refresh_token}),
            "the token refresh endpoint",
        )
        .map_err(|err| match err.code {
            ErrorCode::SessionExpired | ErrorCode::InvalidCredentials => ToolError::new(
                ErrorCode::SessionExpired,
                "Taiga no longer renews this session's token; call login again",
            ),
            _ => err,
        })?;
    let (Some(access), Some(refresh)) = (renewed["auth_token"].as_str(), renewed["refresh"].as_str()) else {
        return Err(ToolError::new(
            ErrorCode::TaigaError,
            "Taiga's refresh answer has no tokens",
        ));
    };
    session.auth_token = access.to_owned();
    session.refresh_token = refresh.to_owned();
    session.token_issued_ms = call.platform.now_ms();
    call.platform.notice(
        crate::platform::NoticeLevel::Info,
        "Taiga's access token had expired and was renewed with the session's refresh token",
    );
    Ok(())
}
