//! The workflows of the prompts as Agent Skills (the MCP skills extension, SEP-2640): each one a
//! `SKILL.md` under `skills/<name>/`, served as `skill://<name>/SKILL.md`.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::request::{RequestError, text_param};
use super::uri::Target;

/// Every skill: its name and its `SKILL.md`.
const SKILLS: [(&str, &str); 4] = [
    ("taiga-standup", include_str!("skills/taiga-standup/SKILL.md")),
    (
        "taiga-sprint-review",
        include_str!("skills/taiga-sprint-review/SKILL.md"),
    ),
    (
        "taiga-triage-issues",
        include_str!("skills/taiga-triage-issues/SKILL.md"),
    ),
    ("taiga-plan-sprint", include_str!("skills/taiga-plan-sprint/SKILL.md")),
];

/// The `SKILL.md` of the skill `name`.
pub fn file(name: &str) -> Option<&'static str> {
    SKILLS.iter().find(|(skill, _)| *skill == name).map(|(_, text)| *text)
}

/// The frontmatter of a `SKILL.md`: its `key: value` lines between the `---` fences.
fn frontmatter(text: &str) -> Map<String, Value> {
    text.strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .map(|(block, _)| {
            block
                .lines()
                .filter_map(|line| line.split_once(": "))
                .map(|(key, value)| (key.trim().to_owned(), json!(value.trim())))
                .collect()
        })
        .unwrap_or_default()
}

fn digest(text: &str) -> String {
    let hash = Sha256::digest(text.as_bytes());
    let hex: String = hash.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}

fn uri(name: &str) -> String {
    Target::Skill { name: name.to_owned() }.to_string()
}

fn entry(name: &str, text: &str) -> Value {
    json!({
        "uri": uri(name),
        "frontmatter": frontmatter(text),
        "resources": [{"uri": uri(name), "digest": digest(text), "size": text.len()}],
    })
}

/// `skills/list`: every skill.
pub fn list() -> Value {
    json!({"skills": SKILLS.iter().map(|(name, text)| entry(name, text)).collect::<Vec<_>>()})
}

/// `skills/get`: the skill whose `SKILL.md` the `uri` param names.
pub fn get(params: &Map<String, Value>) -> Result<Value, RequestError> {
    let requested = text_param(params, "uri")?;
    SKILLS
        .iter()
        .find(|(name, _)| uri(name) == requested)
        .map(|(name, text)| json!({"skill": entry(name, text)}))
        .ok_or_else(|| {
            RequestError::invalid(
                format!("no skill at `{requested}`; skills/list names them"),
                json!({"uri": requested}),
            )
        })
}

/// The skills as resources, for `resources/list`.
pub fn resources() -> Vec<Value> {
    SKILLS
        .iter()
        .map(|(name, text)| {
            let front = frontmatter(text);
            json!({
                "uri": uri(name),
                "name": front["name"],
                "description": front["description"],
                "mimeType": "text/markdown",
                "size": text.len(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_skill_s_frontmatter_names_it_and_describes_it() {
        for (name, text) in SKILLS {
            let front = frontmatter(text);
            assert_eq!(front["name"], json!(name));
            assert!(
                front["description"].as_str().is_some_and(|text| text.len() > 40),
                "{name}"
            );
            assert_eq!(
                front.len(),
                2,
                "{name}: only name and description, as the entry carries them"
            );
            assert!(digest(text).len() == 71);
        }
    }
}
