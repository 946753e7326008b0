//! Starting data.

use crate::state::State;

/// What a fresh simulator holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Seed {
    /// Users only: `admin` / `123123` (as Taiga's initial_user fixture) and `bob` / `123123`.
    #[default]
    Users,
    /// The users plus projects to try every tool: admin's private "Demo Scrum", public "Public Sample",
    /// a kanban "Demo Kanban", and bob's private "Bob Private".
    Demo,
    /// The database the recordings in `tests/taiga-api/recordings` were made against: Taiga's
    /// sample data (users 5 to 15, projects 1 to 7, public ones 1, 2, 4, 6, 7) with every sequence
    /// where the recorder found it, so that replayed requests name the same ids.
    Recordings,
}

impl Seed {
    /// Loads the seed into an empty state.
    pub fn load(self, state: &mut State) {
        if self == Seed::Recordings {
            return load_recordings(state);
        }
        let admin = state.add_user("admin", "admin@admin.com", "123123", "Administrator");
        let bob = state.add_user("bob", "bob@example.com", "123123", "Bob Builder");
        if self == Seed::Demo {
            state.create_project(admin, "Demo Scrum", "A scrum project to try the tools on.", true, 1);
            state.create_project(admin, "Public Sample", "A public project anyone can read.", false, 1);
            state.create_project(admin, "Demo Kanban", "A kanban project.", true, 2);
            state.create_project(bob, "Bob Private", "Only bob can see this.", true, 1);
        }
    }
}

fn load_recordings(state: &mut State) {
    state.set_next_id("user", 5);
    let admin = state.add_user("admin", "admin@admin.com", "123123", "Administrator");
    state.add_user(
        "user2114747470430251528",
        "user2114747470430251528@taigaio.demo",
        "123123",
        "Vanesa Torres",
    );
    state.add_user("user1", "user1@taigaio.demo", "123123", "Begoña Flores");
    for n in 2..=9 {
        state.add_user(
            &format!("user{n}"),
            &format!("user{n}@taigaio.demo"),
            "123123",
            &format!("Sample User {n}"),
        );
    }
    for n in 1..=7 {
        let public = matches!(n, 1 | 2 | 4 | 6 | 7);
        let id = state.create_project(
            admin,
            &format!("Project Example {n}"),
            &format!("Project example {n} description"),
            !public,
            1,
        );
        if let Some(project) = state.projects.iter_mut().find(|p| p.id == id) {
            project.tags = ["veniam", "dignissimos", "minus"].map(str::to_owned).to_vec();
        }
    }
    let sprint = serde_json::json!({
        "project": 1, "name": "Sprint 2026-10-1", "estimated_start": "2026-10-01", "estimated_finish": "2026-10-15"
    });
    if let Some(fields) = sprint.as_object() {
        let _ = state.create_item(crate::model::ItemKind::Milestone, admin, fields);
    }
    // The sample data's first user story, which recording 180 patches.
    let story = serde_json::json!({"project": 1, "subject": "Sample user story"});
    if let Some(fields) = story.as_object() {
        let _ = state.create_item(crate::model::ItemKind::UserStory, admin, fields);
    }
    for (model, next) in [
        ("membership", 92),
        ("userstories", 115),
        ("tasks", 109),
        ("issues", 91),
        ("epics", 37),
        ("milestones", 12),
        ("wiki", 18),
        ("wiki_link", 32),
    ] {
        state.set_next_id(model, next);
    }
}
