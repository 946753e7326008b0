//! MCP Apps (issue 31): each app's bytes as `resources/read` hands them to a host (an app may
//! weigh 150 KB), and what the board costs beside it: the board tool's structured result and the
//! text summary hosts without apps show.

use anyhow::Context;
use rmcp::model::{ReadResourceRequestParams, ResourceContents};
use serde_json::json;

use crate::{Client, call_result};

/// Prints the "MCP Apps" table for the apps `client`'s tools link, and one board of `project`.
pub async fn report(client: &Client, session: &str, project: i64) -> anyhow::Result<()> {
    println!("\n## MCP Apps\n");
    println!("| what | bytes |\n|---|---|");
    let tools = client.list_all_tools().await?;
    for tool in &tools {
        let Some(uri) = tool
            .meta
            .as_ref()
            .and_then(|meta| meta.0.get("ui"))
            .and_then(|ui| ui["resourceUri"].as_str())
        else {
            continue;
        };
        let read = client.read_resource(ReadResourceRequestParams::new(uri)).await?;
        let bytes: usize = read
            .contents
            .iter()
            .map(|content| match content {
                ResourceContents::TextResourceContents { text, .. } => text.len(),
                ResourceContents::BlobResourceContents { blob, .. } => blob.len(),
                // Non-exhaustive: a kind of content the apps do not use.
                _ => 0,
            })
            .sum();
        println!("| `{uri}` (the app of `{}`) | {bytes} |", tool.name);
    }
    let board = call_result(
        client,
        "get_sprint_board",
        json!({"session_id": session, "project_id": project}),
    )
    .await?;
    let structured = board.structured_content.context("the board has a structured result")?;
    let cards = structured["cards"].as_u64().unwrap_or_default();
    let text = board
        .content
        .first()
        .and_then(|content| content.as_text())
        .map_or(0, |text| text.text.len());
    println!(
        "| `get_sprint_board` of a project of {cards} stories: structured result | {} |",
        serde_json::to_vec(&structured)?.len()
    );
    println!("| the same board: text summary | {text} |");
    Ok(())
}
