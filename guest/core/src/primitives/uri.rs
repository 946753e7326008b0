//! The `taiga://` URIs of resources and their templates: what a URI names, parsed and written back.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Kept as they are in a path segment: RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A kind of item that has a ref in its project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// A user story.
    UserStory,
    /// A task.
    Task,
    /// An issue.
    Issue,
    /// An epic.
    Epic,
}

impl ItemKind {
    /// Every kind, in the order templates list them.
    pub const ALL: [Self; 4] = [Self::UserStory, Self::Task, Self::Issue, Self::Epic];

    /// Its path segment in a URI.
    pub fn segment(self) -> &'static str {
        match self {
            Self::UserStory => "userstories",
            Self::Task => "tasks",
            Self::Issue => "issues",
            Self::Epic => "epics",
        }
    }

    /// The `resource` argument the comment, attachment and custom field tools take.
    pub fn resource(self) -> &'static str {
        match self {
            Self::UserStory => "user_story",
            Self::Task => "task",
            Self::Issue => "issue",
            Self::Epic => "epic",
        }
    }

    /// What a person calls it.
    pub fn noun(self) -> &'static str {
        match self {
            Self::UserStory => "user story",
            Self::Task => "task",
            Self::Issue => "issue",
            Self::Epic => "epic",
        }
    }

    /// Its list tool, e.g. `list_user_stories`.
    pub fn list_tool(self) -> &'static str {
        match self {
            Self::UserStory => "list_user_stories",
            Self::Task => "list_tasks",
            Self::Issue => "list_issues",
            Self::Epic => "list_epics",
        }
    }

    /// Its get tool, e.g. `get_user_story`.
    pub fn get_tool(self) -> &'static str {
        match self {
            Self::UserStory => "get_user_story",
            Self::Task => "get_task",
            Self::Issue => "get_issue",
            Self::Epic => "get_epic",
        }
    }

    /// Its description: Taiga's paths for it.
    pub fn description(self) -> &'static crate::resource::Resource {
        match self {
            Self::UserStory => &crate::resource::USER_STORY,
            Self::Task => &crate::resource::TASK,
            Self::Issue => &crate::resource::ISSUE,
            Self::Epic => &crate::resource::EPIC,
        }
    }

    /// The kind a path segment names.
    pub fn from_segment(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.segment() == segment)
    }
}

/// What a resource URI names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A project by slug (or id).
    Project {
        /// Its slug, or its id in digits.
        project: String,
    },
    /// A story, task, issue or epic by its project and ref.
    Item {
        /// The project's slug or id.
        project: String,
        /// Which kind of item.
        kind: ItemKind,
        /// The `#number` Taiga shows.
        reference: u64,
    },
    /// A wiki page by its slug.
    Wiki {
        /// The project's slug or id.
        project: String,
        /// The page's slug.
        slug: String,
    },
    /// A sprint by its name (or id).
    Sprint {
        /// The project's slug or id.
        project: String,
        /// The sprint's name, or its id in digits.
        sprint: String,
    },
    /// An attachment of an item.
    Attachment {
        /// The project's slug or id.
        project: String,
        /// The item's kind.
        kind: ItemKind,
        /// The item's ref.
        reference: u64,
        /// The attachment's id.
        attachment: u64,
    },
    /// A skill's file, `skill://<name>/SKILL.md`.
    Skill {
        /// The skill's name.
        name: String,
    },
}

/// The templates `resources/templates/list` shows: URI template, name, title, what it gives.
pub const TEMPLATES: [(&str, &str, &str, &str); 8] = [
    (
        "taiga://projects/{project}",
        "project",
        "A Taiga project",
        "A project by slug: description, members and roles, statuses and modules.",
    ),
    (
        "taiga://projects/{project}/userstories/{ref}",
        "user_story",
        "A user story",
        "A user story by project and ref: status, assignee, points, sprint, dates, blocked, description, custom \
         fields and the latest comments.",
    ),
    (
        "taiga://projects/{project}/tasks/{ref}",
        "task",
        "A task",
        "A task by project and ref: status, assignee, story, dates, blocked, description, custom fields and the \
         latest comments.",
    ),
    (
        "taiga://projects/{project}/issues/{ref}",
        "issue",
        "An issue",
        "An issue by project and ref: status, type, priority, severity, assignee, dates, description, custom fields \
         and the latest comments.",
    ),
    (
        "taiga://projects/{project}/epics/{ref}",
        "epic",
        "An epic",
        "An epic by project and ref: status, assignee, dates, description, custom fields and the latest comments.",
    ),
    (
        "taiga://projects/{project}/wiki/{slug}",
        "wiki_page",
        "A wiki page",
        "A wiki page by project and slug, as its Markdown.",
    ),
    (
        "taiga://projects/{project}/sprints/{sprint}",
        "sprint",
        "A sprint",
        "A sprint by project and name: dates, progress and its user stories by status.",
    ),
    (
        "taiga://projects/{project}/{kind}/{ref}/attachments/{attachment}",
        "attachment",
        "An attachment",
        "A file attached to a story, task, issue or epic (kind: userstories, tasks, issues or epics), as text or a \
         blob.",
    ),
];

fn decode(segment: &str) -> Option<String> {
    let text = percent_decode_str(segment).decode_utf8().ok()?;
    (!text.is_empty() && !text.contains('/')).then(|| text.into_owned())
}

fn encode(text: &str) -> impl fmt::Display + '_ {
    utf8_percent_encode(text, SEGMENT)
}

fn reference(segment: &str) -> Option<u64> {
    let segment = decode(segment)?;
    let digits = segment.strip_prefix('#').unwrap_or(&segment);
    (!digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
        .filter(|number| *number > 0)
}

impl Target {
    /// What `uri` names, if it names anything this server serves.
    pub fn parse(uri: &str) -> Option<Self> {
        if let Some(rest) = uri.strip_prefix("skill://") {
            let name = rest.strip_suffix("/SKILL.md")?;
            return Some(Self::Skill { name: decode(name)? });
        }
        let rest = uri.strip_prefix("taiga://projects/")?;
        let segments: Vec<&str> = rest.split('/').collect();
        let project = decode(segments.first()?)?;
        Some(match segments[1..] {
            [] => Self::Project { project },
            ["wiki", slug] => Self::Wiki {
                project,
                slug: decode(slug)?,
            },
            ["sprints", sprint] => Self::Sprint {
                project,
                sprint: decode(sprint)?,
            },
            [kind, number] => Self::Item {
                project,
                kind: ItemKind::from_segment(kind)?,
                reference: reference(number)?,
            },
            [kind, number, "attachments", attachment] => Self::Attachment {
                project,
                kind: ItemKind::from_segment(kind)?,
                reference: reference(number)?,
                attachment: reference(attachment)?,
            },
            _ => return None,
        })
    }

    /// The project it belongs to, when it is Taiga's.
    pub fn project(&self) -> Option<&str> {
        match self {
            Self::Project { project }
            | Self::Item { project, .. }
            | Self::Wiki { project, .. }
            | Self::Sprint { project, .. }
            | Self::Attachment { project, .. } => Some(project),
            Self::Skill { .. } => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Project { project } => write!(f, "taiga://projects/{}", encode(project)),
            Self::Item {
                project,
                kind,
                reference,
            } => write!(f, "taiga://projects/{}/{}/{reference}", encode(project), kind.segment()),
            Self::Wiki { project, slug } => write!(f, "taiga://projects/{}/wiki/{}", encode(project), encode(slug)),
            Self::Sprint { project, sprint } => {
                write!(f, "taiga://projects/{}/sprints/{}", encode(project), encode(sprint))
            }
            Self::Attachment {
                project,
                kind,
                reference,
                attachment,
            } => write!(
                f,
                "taiga://projects/{}/{}/{reference}/attachments/{attachment}",
                encode(project),
                kind.segment()
            ),
            Self::Skill { name } => write!(f, "skill://{}/SKILL.md", encode(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str) -> String {
        name.to_owned()
    }

    #[test]
    fn every_target_reads_back_from_its_uri() {
        let targets = [
            Target::Project {
                project: project("admin-demo-scrum"),
            },
            Target::Item {
                project: project("p"),
                kind: ItemKind::Task,
                reference: 12,
            },
            Target::Wiki {
                project: project("p"),
                slug: "home page".to_owned(),
            },
            Target::Sprint {
                project: project("p"),
                sprint: "Sprint 3 / Ünïcode?".replace('/', "-"),
            },
            Target::Attachment {
                project: project("p"),
                kind: ItemKind::Epic,
                reference: 4,
                attachment: 99,
            },
            Target::Skill {
                name: "taiga-standup".to_owned(),
            },
        ];
        for target in targets {
            let uri = target.to_string();
            assert_eq!(Target::parse(&uri), Some(target.clone()), "{uri}");
        }
        assert_eq!(
            Target::Sprint {
                project: project("p"),
                sprint: "Sprint 3".to_owned()
            }
            .to_string(),
            "taiga://projects/p/sprints/Sprint%203"
        );
    }

    #[test]
    fn a_uri_that_names_nothing_served_is_none() {
        for uri in [
            "test://nonexistent-resource-for-conformance-testing",
            "taiga://projects/",
            "taiga://projects/p/bugs/1",
            "taiga://projects/p/userstories/0",
            "taiga://projects/p/userstories/x1",
            "taiga://projects/p/wiki/",
            "taiga://projects/p/wiki/a%2Fb",
            "taiga://projects/p/tasks/1/attachments/",
            "skill://taiga-standup/README.md",
            "taiga://projects/p/userstories/1/extra/2",
        ] {
            assert_eq!(Target::parse(uri), None, "{uri}");
        }
        assert_eq!(
            Target::parse("taiga://projects/7/issues/%2312"),
            Some(Target::Item {
                project: project("7"),
                kind: ItemKind::Issue,
                reference: 12
            })
        );
    }
}
