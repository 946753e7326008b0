//! Round trips: the Taiga requests the everyday calls of issue 29 make, and how long a user waits for
//! each when Taiga is far away (every answer held [`LATENCY_MS`]), with a project's names kept between
//! calls (the default) and with nothing kept (`METADATA_TTL_SECONDS=0`), beside one direct request.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use taiga_sim::{Fault, FaultRule, Simulator};

use crate::{KeepAlive, call, ms, spawn, stats};

/// How long the simulator holds every answer: Taiga in another region.
const LATENCY_MS: u64 = 50;

/// What the section is asked to measure.
pub struct RoundTrips<'a> {
    /// The bridge binary.
    pub binary: &'a Path,
    /// The simulator.
    pub sim: &'a Simulator,
    /// The compiled-code cache.
    pub cache: &'a Path,
    /// The simulator's host and port, for the direct request.
    pub address: &'a str,
    /// An access token for the direct request.
    pub token: &'a str,
    /// A project the token's user may read.
    pub project: i64,
    /// Rounds of the everyday calls per configuration.
    pub rounds: usize,
}

/// The calls of one round, in order, with the requests and time of each.
type Round = Vec<(&'static str, usize, Duration)>;

/// One call, with the Taiga requests it made and how long it took.
async fn counted(
    bridge: &crate::Client,
    sim: &Simulator,
    tool: &'static str,
    arguments: Value,
) -> anyhow::Result<(Value, usize, Duration)> {
    let before = sim.requests().len();
    let started = Instant::now();
    let answer = call(bridge, tool, arguments).await?;
    let elapsed = started.elapsed();
    Ok((answer, sim.requests().len() - before, elapsed))
}

/// The everyday calls of the table, on a project whose names were read once.
async fn round(bridge: &crate::Client, sim: &Simulator, session: &str, project: i64) -> anyhow::Result<Round> {
    let mut sent = Round::new();
    let mut run = async |tool: &'static str, arguments: Value| -> anyhow::Result<Value> {
        let mut arguments = arguments;
        arguments["session_id"] = session.into();
        let (answer, requests, elapsed) = counted(bridge, sim, tool, arguments).await?;
        sent.push((tool, requests, elapsed));
        Ok(answer)
    };
    let story = run(
        "create_user_story",
        json!({"project_id": project, "title": "Counted", "status": "In progress"}),
    )
    .await?;
    run(
        "list_user_stories",
        json!({"project_id": project, "status": "In progress"}),
    )
    .await?;
    let story = run(
        "update_user_story",
        json!({"user_story_id": story["id"], "version": story["version"], "status": "Ready"}),
    )
    .await?;
    let task = run(
        "create_task",
        json!({"user_story_id": story["id"], "title": "Task", "status": "In progress"}),
    )
    .await?;
    run(
        "update_task",
        json!({"task_id": task["id"], "version": task["version"], "status": "Closed"}),
    )
    .await?;
    run(
        "create_issue",
        json!({"project_id": project, "title": "Bug", "priority": "High", "severity": "Critical", "type": "Bug"}),
    )
    .await?;
    run(
        "add_comment",
        json!({"resource": "user_story", "id": story["id"], "text": "Counted comment"}),
    )
    .await?;
    run("search_project", json!({"project_id": project, "text": "Counted"})).await?;
    run("list_project_members", json!({"project_id": project})).await?;
    let current = run("get_user_story", json!({"user_story_id": story["id"]})).await?;
    run(
        "delete_user_story",
        json!({"user_story_id": story["id"], "version": current["version"]}),
    )
    .await?;
    Ok(sent)
}

/// Every round of one configuration: per call, the requests of the last round and the times of all.
async fn configuration(
    section: &RoundTrips<'_>,
    settings: &[(&str, &str)],
) -> anyhow::Result<Vec<(&'static str, usize, Vec<Duration>)>> {
    let bridge = spawn(section.binary, &section.sim.url(), section.cache, settings).await?;
    let session = call(
        &bridge.client,
        "login",
        json!({"username": "admin", "password": "123123"}),
    )
    .await?;
    let session = session["session_id"]
        .as_str()
        .context("login named no session")?
        .to_owned();
    let project = call(
        &bridge.client,
        "create_project",
        json!({"session_id": session, "name": "Round trips", "description": "the bench's"}),
    )
    .await?["id"]
        .as_i64()
        .context("create_project named no id")?;
    call(
        &bridge.client,
        "get_project_metadata",
        json!({"session_id": session, "project_id": project}),
    )
    .await?;
    let mut calls: Vec<(&'static str, usize, Vec<Duration>)> = Vec::new();
    for _ in 0..section.rounds {
        for (index, (tool, requests, elapsed)) in round(&bridge.client, section.sim, &session, project)
            .await?
            .into_iter()
            .enumerate()
        {
            match calls.get_mut(index) {
                Some(entry) => {
                    entry.1 = requests;
                    entry.2.push(elapsed);
                }
                None => calls.push((tool, requests, vec![elapsed])),
            }
        }
    }
    bridge.client.cancel().await?;
    Ok(calls)
}

/// Measures both configurations at [`LATENCY_MS`] and prints the table.
pub async fn report(section: &RoundTrips<'_>) -> anyhow::Result<()> {
    section.sim.inject(FaultRule {
        path_prefix: Some("/api/v1/".into()),
        fault: Fault::Latency { ms: LATENCY_MS },
        times: None,
    });
    let mut keep_alive = KeepAlive::connect(section.address, section.token).await?;
    let mut direct = Vec::with_capacity(section.rounds);
    for _ in 0..section.rounds {
        let started = Instant::now();
        keep_alive.get(&format!("/projects/{}", section.project)).await?;
        direct.push(started.elapsed());
    }
    let kept = configuration(section, &[]).await;
    let cold = configuration(section, &[("METADATA_TTL_SECONDS", "0")]).await;
    section.sim.clear_faults();
    let (kept, cold) = (kept?, cold?);

    println!("\n## Round trips at {LATENCY_MS} ms per Taiga answer (issue 29)\n");
    println!(
        "{} rounds of the everyday calls on one project, its names read once first. One direct request to \
         Taiga (keep-alive, the least any call can cost): p50 {} ms.\n",
        section.rounds,
        ms(stats(direct).p50)
    );
    println!("| call | requests, names kept | p50 ms | requests, nothing kept | p50 ms |");
    println!("|---|---|---|---|---|");
    let (mut totals, mut waits) = ([0usize; 2], [Duration::ZERO; 2]);
    for ((tool, kept_requests, kept_times), (_, cold_requests, cold_times)) in kept.into_iter().zip(cold) {
        let (kept_p50, cold_p50) = (stats(kept_times).p50, stats(cold_times).p50);
        totals = [totals[0] + kept_requests, totals[1] + cold_requests];
        waits = [waits[0] + kept_p50, waits[1] + cold_p50];
        println!(
            "| {tool} | {kept_requests} | {} | {cold_requests} | {} |",
            ms(kept_p50),
            ms(cold_p50)
        );
    }
    println!(
        "| **all of them** | **{}** | **{}** | **{}** | **{}** |",
        totals[0],
        ms(waits[0]),
        totals[1],
        ms(waits[1])
    );
    Ok(())
}
