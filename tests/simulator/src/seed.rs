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
}

impl Seed {
    /// Loads the seed into an empty state.
    pub fn load(self, state: &mut State) {
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
