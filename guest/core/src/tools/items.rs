//! User story, task, issue and epic tools: thin declarations over the generic path in [`crate::crud`].

use serde_json::{Map, Value, json};

use crate::api::Api;
use crate::call::Call;
use crate::crud;
use crate::error::{ToolError, ToolResult};
use crate::listing::{ALL, PAGE, PAGE_SIZE};
use crate::resource::{COMPACT_ITEM, EPIC, ISSUE, TASK, USER_STORY, compact_schema, full_schema};
use crate::schema::{Field, Kind, SESSION, VERSION};
use crate::tool::{Annotations, Tool, deleted_schema, list_schema};
use crate::validate::Args;

const PROJECT: Field = Field::required("project_id", Kind::Id, "Project id.");
const TITLE: Field = Field::required("title", Kind::Text { min: 1, max: 500 }, "Title (Taiga's subject).");
const NEW_TITLE: Field = Field::optional("title", Kind::Text { min: 1, max: 500 }, "New title.");
const DESCRIPTION: Field = Field::optional("description", Kind::Text { min: 0, max: 5000 }, "In Markdown.");
pub(super) const STATUS: Field = Field::optional("status", Kind::IdOrName, "Status id or name.");
pub(super) const ASSIGNEE: Field = Field::optional("assigned_to", Kind::IdOrName, "User id or username.");
pub(super) const TAGS: Field = Field::optional("tags", Kind::Strings { max: 50, max_len: 255 }, "Replaces the tags.");
const INITIAL_TAGS: Field = Field::optional("tags", Kind::Strings { max: 50, max_len: 255 }, "Tags.");
const SPRINT: Field = Field::optional("sprint_id", Kind::NullableId, "Sprint id, or null for the backlog.");
const BLOCKED: Field = Field::optional("is_blocked", Kind::Bool, "Blocked.");
const BLOCKED_NOTE: Field = Field::optional("blocked_note", Kind::Text { min: 0, max: 1000 }, "Why blocked.");
const DUE_DATE: Field = Field::optional("due_date", Kind::Date, "Due date.");
const DUE_DATE_CHANGE: Field = Field::optional("due_date", Kind::NullableDate, "Null clears it.");
const Q: Field = Field::optional(
    "q",
    Kind::Text { min: 1, max: 200 },
    "Words in titles, descriptions or tags.",
);
const USER: Field = Field::required("user", Kind::IdOrName, "Member's id or username.");
const BY_REF: &[Field] = &[
    Field::optional("project_id", Kind::Id, "Project id, with ref."),
    Field::optional(
        "ref",
        Kind::Integer {
            min: 1,
            max: 10_000_000,
        },
        "The #number Taiga shows, with project_id.",
    ),
];

fn list_output() -> Value {
    list_schema(compact_schema())
}

macro_rules! resource_tools {
    (
        $res:ident, $noun:literal, $article:literal, $text:literal, $id:literal,
        get: $get:ident, delete: $delete:ident, assign: $assign:ident, unassign: $unassign:ident $(,)?
    ) => {
        pub const $get: Tool = Tool {
            name: concat!("get_", $noun),
            title: concat!("Get ", $article, " ", $text),
            description: concat!(
                "Get one ",
                $text,
                " in full, names beside ids, by ",
                $id,
                " or by project_id and ref."
            ),
            fields: &[
                SESSION,
                Field::optional($id, Kind::Id, "Id."),
                BY_REF[0],
                BY_REF[1],
            ],
            output_schema: full_schema,
            annotations: Annotations::READ,
            run: |call, args| {
                if args.int($id).is_some() && args.int("ref").is_none() {
                    crud::get(call, args, &$res)
                } else if args.int($id).is_none() && args.int("ref").is_some() && args.int("project_id").is_some() {
                    crud::get_by_ref(call, args, &$res)
                } else {
                    Err(ToolError::invalid(
                        $id,
                        concat!("give ", $id, ", or project_id and ref"),
                    ))
                }
            },
        };

        pub const $delete: Tool = Tool {
            name: concat!("delete_", $noun),
            title: concat!("Delete ", $article, " ", $text),
            description: concat!(
                "Delete ",
                $article,
                " ",
                $text,
                " at the version you read (if it changed, nothing is deleted). This cannot be undone."
            ),
            fields: &[SESSION, Field::required($id, Kind::Id, "Id."), VERSION],
            output_schema: deleted_schema,
            annotations: Annotations::DELETE,
            run: |call, args| crud::delete(call, args, &$res),
        };

        pub const $assign: Tool = Tool {
            name: concat!("assign_", $noun),
            title: concat!("Assign ", $article, " ", $text),
            description: concat!(
                "Make a project member the assignee of ",
                $article,
                " ",
                $text,
                "."
            ),
            fields: &[SESSION, Field::required($id, Kind::Id, "Id."), USER],
            output_schema: full_schema,
            annotations: Annotations::UPDATE,
            run: |call, args| crud::assign(call, args, &$res, Some("user")),
        };

        pub const $unassign: Tool = Tool {
            name: concat!("unassign_", $noun),
            title: concat!("Unassign ", $article, " ", $text),
            description: concat!("Remove every assignee from ", $article, " ", $text, "."),
            fields: &[SESSION, Field::required($id, Kind::Id, "Id.")],
            output_schema: full_schema,
            annotations: Annotations::UPDATE,
            run: |call, args| crud::assign(call, args, &$res, None),
        };
    };
}

resource_tools!(USER_STORY, "user_story", "a", "user story", "user_story_id",
    get: GET_USER_STORY, delete: DELETE_USER_STORY, assign: ASSIGN_USER_STORY, unassign: UNASSIGN_USER_STORY);
resource_tools!(TASK, "task", "a", "task", "task_id",
    get: GET_TASK, delete: DELETE_TASK, assign: ASSIGN_TASK, unassign: UNASSIGN_TASK);
resource_tools!(ISSUE, "issue", "an", "issue", "issue_id",
    get: GET_ISSUE, delete: DELETE_ISSUE, assign: ASSIGN_ISSUE, unassign: UNASSIGN_ISSUE);
resource_tools!(EPIC, "epic", "an", "epic", "epic_id",
    get: GET_EPIC, delete: DELETE_EPIC, assign: ASSIGN_EPIC, unassign: UNASSIGN_EPIC);

fn no_sprint_and_backlog(args: &Args) -> ToolResult<Vec<(&'static str, Option<String>)>> {
    match (args.has("sprint_id"), args.flag("backlog")) {
        (true, Some(true)) => Err(ToolError::invalid("backlog", "give sprint_id or backlog, not both")),
        (false, Some(true)) => Ok(vec![("milestone", Some("null".to_owned()))]),
        _ => Ok(Vec::new()),
    }
}

pub const LIST_USER_STORIES: Tool = Tool {
    name: "list_user_stories",
    title: "List user stories",
    description: "List a project's user stories, compact, 30 per page.",
    fields: &[
        SESSION,
        PROJECT,
        STATUS,
        ASSIGNEE,
        Field::optional("sprint_id", Kind::Id, "Only stories in this sprint."),
        Field::optional("backlog", Kind::Bool, "Only the backlog."),
        Field::optional("epic_id", Kind::Id, "Only this epic's stories."),
        Field::optional(
            "tags",
            Kind::Strings { max: 20, max_len: 255 },
            "Only stories with any of these tags.",
        ),
        Q,
        PAGE,
        PAGE_SIZE,
        ALL,
    ],
    output_schema: list_output,
    annotations: Annotations::READ,
    run: |call, args| {
        let extra = no_sprint_and_backlog(args)?;
        crud::list(call, args, &USER_STORY, &extra)
    },
};

pub const CREATE_USER_STORY: Tool = Tool {
    name: "create_user_story",
    title: "Create a user story",
    description: "Create a user story in a project. Status, assignee and points take names; the status defaults \
        to the project's.",
    fields: &[
        SESSION,
        PROJECT,
        TITLE,
        DESCRIPTION,
        STATUS,
        ASSIGNEE,
        Field::optional("sprint_id", Kind::Id, "Sprint id (default: the backlog)."),
        Field::optional(
            "points",
            Kind::IdOrName,
            "Points for every estimating role: id or value, e.g. \"3\" or \"1/2\".",
        ),
        INITIAL_TAGS,
        BLOCKED,
        BLOCKED_NOTE,
        DUE_DATE,
    ],
    output_schema: full_schema,
    annotations: Annotations::CREATE,
    run: create_user_story,
};

fn create_user_story(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let project = args.required_int("project_id")?;
    let mut fixed = Map::new();
    if args.has("points") {
        let api = Api::open(call, args)?;
        let meta = api.project_meta(project)?;
        let points = meta.lookup("points", "points", args.raw("points"))?;
        let per_role: Map<String, Value> = meta.detail()["roles"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|role| role["computable"] == true)
            .map(|role| (role["id"].to_string(), points.into()))
            .collect();
        fixed.insert("points".into(), Value::Object(per_role));
    }
    crud::create(call, args, &USER_STORY, project, fixed)
}

pub const UPDATE_USER_STORY: Tool = Tool {
    name: "update_user_story",
    title: "Update a user story",
    description: "Change a user story at the version you read; give only what changes.",
    fields: &[
        SESSION,
        Field::required("user_story_id", Kind::Id, "The user story id."),
        VERSION,
        NEW_TITLE,
        DESCRIPTION,
        STATUS,
        ASSIGNEE,
        SPRINT,
        TAGS,
        BLOCKED,
        BLOCKED_NOTE,
        DUE_DATE_CHANGE,
    ],
    output_schema: full_schema,
    annotations: Annotations::UPDATE,
    run: |call, args| crud::update(call, args, &USER_STORY),
};

pub const LIST_TASKS: Tool = Tool {
    name: "list_tasks",
    title: "List tasks",
    description: "List a project's tasks, compact, 30 per page.",
    fields: &[
        SESSION,
        PROJECT,
        Field::optional("user_story_id", Kind::Id, "Only tasks of this user story."),
        STATUS,
        ASSIGNEE,
        Field::optional("sprint_id", Kind::Id, "Only tasks in this sprint."),
        PAGE,
        PAGE_SIZE,
        ALL,
    ],
    output_schema: list_output,
    annotations: Annotations::READ,
    run: |call, args| crud::list(call, args, &TASK, &[]),
};

pub const CREATE_TASK: Tool = Tool {
    name: "create_task",
    title: "Create a task",
    description: "Create a task in a project, or under a user story (user_story_id alone will do), joining the \
        story's sprint.",
    fields: &[
        SESSION,
        Field::optional("project_id", Kind::Id, "Project id (or give user_story_id)."),
        Field::optional("user_story_id", Kind::Id, "Its user story."),
        TITLE,
        DESCRIPTION,
        STATUS,
        ASSIGNEE,
        INITIAL_TAGS,
        BLOCKED,
        BLOCKED_NOTE,
        DUE_DATE,
    ],
    output_schema: full_schema,
    annotations: Annotations::CREATE,
    run: create_task,
};

fn create_task(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let project = match (args.int("project_id"), args.int("user_story_id")) {
        (Some(project), _) => project,
        // Taiga wants the project even when the story is named (recording 222): the story's own,
        // learnt from an earlier answer about it, else read.
        (None, Some(story)) => crud::item_project(&Api::open(call, args)?, &USER_STORY, story)?,
        (None, None) => return Err(ToolError::invalid("project_id", "give project_id or user_story_id")),
    };
    crud::create(call, args, &TASK, project, Map::new())
}

pub const UPDATE_TASK: Tool = Tool {
    name: "update_task",
    title: "Update a task",
    description: "Change a task at the version you read; give only what changes.",
    fields: &[
        SESSION,
        Field::required("task_id", Kind::Id, "The task id."),
        VERSION,
        NEW_TITLE,
        DESCRIPTION,
        STATUS,
        ASSIGNEE,
        Field::optional("user_story_id", Kind::Id, "Move it under this user story."),
        TAGS,
        BLOCKED,
        BLOCKED_NOTE,
        DUE_DATE_CHANGE,
    ],
    output_schema: full_schema,
    annotations: Annotations::UPDATE,
    run: |call, args| crud::update(call, args, &TASK),
};

// create_issue names Taiga's default choices once; list_issues and update_issue take the same.
const PRIORITY: Field = Field::optional("priority", Kind::IdOrName, "Priority id or name.");
const SEVERITY: Field = Field::optional("severity", Kind::IdOrName, "Severity id or name.");
const ISSUE_TYPE: Field = Field::optional("type", Kind::IdOrName, "Issue type id or name.");
const PRIORITY_WITH_NAMES: Field =
    Field::optional("priority", Kind::IdOrName, "Priority id or name (Low, Normal, High).");
const SEVERITY_WITH_NAMES: Field = Field::optional(
    "severity",
    Kind::IdOrName,
    "Severity id or name (Wishlist, Minor, Normal, Important, Critical).",
);
const ISSUE_TYPE_WITH_NAMES: Field = Field::optional(
    "type",
    Kind::IdOrName,
    "Issue type id or name (Bug, Question, Enhancement).",
);

pub const LIST_ISSUES: Tool = Tool {
    name: "list_issues",
    title: "List issues",
    description: "List a project's issues, compact, newest first, 30 per page.",
    fields: &[
        SESSION,
        PROJECT,
        STATUS,
        PRIORITY,
        SEVERITY,
        ISSUE_TYPE,
        ASSIGNEE,
        Field::optional(
            "tags",
            Kind::Strings { max: 20, max_len: 255 },
            "Only issues with any of these tags.",
        ),
        Q,
        PAGE,
        PAGE_SIZE,
        ALL,
    ],
    output_schema: list_output,
    annotations: Annotations::READ,
    run: |call, args| crud::list(call, args, &ISSUE, &[]),
};

pub const CREATE_ISSUE: Tool = Tool {
    name: "create_issue",
    title: "Create an issue",
    description: "Report an issue in a project. Priority, severity, type and status take names or ids; each \
        defaults to the project's.",
    fields: &[
        SESSION,
        PROJECT,
        TITLE,
        DESCRIPTION,
        PRIORITY_WITH_NAMES,
        SEVERITY_WITH_NAMES,
        ISSUE_TYPE_WITH_NAMES,
        STATUS,
        ASSIGNEE,
        INITIAL_TAGS,
        BLOCKED,
        BLOCKED_NOTE,
        DUE_DATE,
    ],
    output_schema: full_schema,
    annotations: Annotations::CREATE,
    run: |call, args| crud::create(call, args, &ISSUE, args.required_int("project_id")?, Map::new()),
};

pub const UPDATE_ISSUE: Tool = Tool {
    name: "update_issue",
    title: "Update an issue",
    description: "Change an issue at the version you read; give only what changes.",
    fields: &[
        SESSION,
        Field::required("issue_id", Kind::Id, "The issue id."),
        VERSION,
        NEW_TITLE,
        DESCRIPTION,
        STATUS,
        PRIORITY,
        SEVERITY,
        ISSUE_TYPE,
        ASSIGNEE,
        TAGS,
        BLOCKED,
        BLOCKED_NOTE,
        DUE_DATE_CHANGE,
    ],
    output_schema: full_schema,
    annotations: Annotations::UPDATE,
    run: |call, args| crud::update(call, args, &ISSUE),
};

const COLOR: Field = Field::optional("color", Kind::Text { min: 7, max: 7 }, "Colour as #RRGGBB.");

pub const LIST_EPICS: Tool = Tool {
    name: "list_epics",
    title: "List epics",
    description: "List a project's epics, compact, 30 per page.",
    fields: &[SESSION, PROJECT, STATUS, ASSIGNEE, Q, PAGE, PAGE_SIZE, ALL],
    output_schema: list_output,
    annotations: Annotations::READ,
    run: |call, args| crud::list(call, args, &EPIC, &[]),
};

pub const CREATE_EPIC: Tool = Tool {
    name: "create_epic",
    title: "Create an epic",
    description: "Create an epic in a project (the project needs its epics module on in Taiga's UI to show it).",
    fields: &[
        SESSION,
        PROJECT,
        TITLE,
        DESCRIPTION,
        STATUS,
        ASSIGNEE,
        COLOR,
        INITIAL_TAGS,
    ],
    output_schema: full_schema,
    annotations: Annotations::CREATE,
    run: |call, args| crud::create(call, args, &EPIC, args.required_int("project_id")?, Map::new()),
};

pub const UPDATE_EPIC: Tool = Tool {
    name: "update_epic",
    title: "Update an epic",
    description: "Change an epic's title, description, status, assignee, colour or tags, at the version you \
        read.",
    fields: &[
        SESSION,
        Field::required("epic_id", Kind::Id, "The epic id."),
        VERSION,
        NEW_TITLE,
        DESCRIPTION,
        STATUS,
        ASSIGNEE,
        COLOR,
        TAGS,
    ],
    output_schema: full_schema,
    annotations: Annotations::UPDATE,
    run: |call, args| crud::update(call, args, &EPIC),
};

const EPIC_ID: Field = Field::required("epic_id", Kind::Id, "The epic id.");
const STORY_ID: Field = Field::required("user_story_id", Kind::Id, "The user story id.");

pub const LINK_USER_STORY_TO_EPIC: Tool = Tool {
    name: "link_user_story_to_epic",
    title: "Link a user story to an epic",
    description: "Add a user story to an epic. A story may belong to several epics.",
    fields: &[SESSION, EPIC_ID, STORY_ID],
    output_schema: link_schema,
    annotations: Annotations::CREATE,
    run: |call, args| {
        let api = Api::open(call, args)?;
        let (epic, story) = (args.required_int("epic_id")?, args.required_int("user_story_id")?);
        api.taiga().post(
            &format!("/epics/{epic}/related_userstories"),
            &json!({"epic": epic, "user_story": story}),
            &format!("epic {epic}"),
        )?;
        Ok(json!({"epic_id": epic, "user_story_id": story, "linked": true}))
    },
};

pub const UNLINK_USER_STORY_FROM_EPIC: Tool = Tool {
    name: "unlink_user_story_from_epic",
    title: "Unlink a user story from an epic",
    description: "Remove a user story from an epic; the story itself stays.",
    fields: &[SESSION, EPIC_ID, STORY_ID],
    output_schema: link_schema,
    annotations: Annotations::DELETE,
    run: |call, args| {
        let api = Api::open(call, args)?;
        let (epic, story) = (args.required_int("epic_id")?, args.required_int("user_story_id")?);
        api.taiga().delete(
            &format!("/epics/{epic}/related_userstories/{story}"),
            &format!("the link between epic {epic} and user story {story}"),
        )?;
        Ok(json!({"epic_id": epic, "user_story_id": story, "linked": false}))
    },
};

fn link_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"epic_id": {"type": "integer"}, "user_story_id": {"type": "integer"}, "linked": {"type": "boolean"}},
        "required": ["epic_id", "user_story_id", "linked"]
    })
}

pub const LIST_EPIC_USER_STORIES: Tool = Tool {
    name: "list_epic_user_stories",
    title: "List an epic's user stories",
    description: "List the user stories linked to an epic (compact).",
    fields: &[SESSION, EPIC_ID],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {"epic_id": {"type": "integer"}, "items": {"type": "array", "items": compact_schema()}},
            "required": ["epic_id", "items"]
        })
    },
    annotations: Annotations::READ,
    run: |call, args| {
        let api = Api::open(call, args)?;
        let epic_id = args.required_int("epic_id")?;
        let epic = api
            .taiga()
            .get(&format!("/epics/{epic_id}"), &format!("epic {epic_id}"))?;
        let project = epic["project"].as_i64().unwrap_or_default();
        let path = format!("/userstories?project={project}&epic={epic_id}&page_size=1000");
        let page = api
            .taiga()
            .get_compact_page(&path, &format!("user stories of epic {epic_id}"), &COMPACT_ITEM)?;
        Ok(json!({"epic_id": epic_id, "items": page.items}))
    },
};
