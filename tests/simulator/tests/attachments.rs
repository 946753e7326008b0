//! Attachments: multipart upload, list by object, detail, PATCH, PUT refused, DELETE.

use serde_json::{Value, json};
use taiga_sim::model::ItemKind;
use taiga_sim::{Seed, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn send(
    sim: &Simulator,
    method: &str,
    target: &str,
    token: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, Value) {
    let address = sim.url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.expect("connects");
    let head = format!(
        "{method} {target} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(body).await.expect("body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("reads");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn multipart(fields: &[(&str, &str)], file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--XYZ\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(b"--XYZ\r\ncontent-disposition: form-data; name=\"attached_file\"; filename=\"notes.txt\"\r\ncontent-type: text/plain\r\n\r\n");
    body.extend_from_slice(file);
    body.extend_from_slice(b"\r\n--XYZ--\r\n");
    body
}

#[tokio::test]
async fn upload_list_patch_delete() {
    let sim = Simulator::start(Seed::Demo).await.expect("starts");
    let (token, project, story) = {
        let mut state = sim.state();
        let admin = state.user_by_login("admin").expect("admin").id;
        let project = state.projects[0].id;
        let fields = json!({"project": project, "subject": "with a file"});
        let story = state
            .create_item(ItemKind::UserStory, admin, fields.as_object().expect("object"))
            .expect("story");
        (state.issue_tokens(admin).0, project, story)
    };
    let form = "multipart/form-data; boundary=XYZ";
    let body = multipart(
        &[("project", &project.to_string()), ("object_id", &story.to_string())],
        b"hello",
    );
    let (status, created) = send(&sim, "POST", "/api/v1/userstories/attachments", &token, form, &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (created["name"].as_str(), created["size"].as_i64()),
        (Some("notes.txt"), Some(5))
    );
    assert_eq!(created["sha1"].as_str().map(str::len), Some(40));
    let id = created["id"].as_i64().expect("id");

    let wrong = multipart(&[("project", "999"), ("object_id", &story.to_string())], b"x");
    assert_eq!(
        send(&sim, "POST", "/api/v1/userstories/attachments", &token, form, &wrong)
            .await
            .0,
        400
    );
    let missing = multipart(&[("project", &project.to_string()), ("object_id", "999999")], b"x");
    assert_eq!(
        send(&sim, "POST", "/api/v1/userstories/attachments", &token, form, &missing)
            .await
            .0,
        400
    );

    let list = format!("/api/v1/userstories/attachments?project={project}&object_id={story}");
    let (status, listed) = send(&sim, "GET", &list, &token, "application/json", b"").await;
    assert_eq!((status, listed.as_array().map(Vec::len)), (200, Some(1)));
    assert!(
        send(
            &sim,
            "GET",
            "/api/v1/tasks/attachments",
            &token,
            "application/json",
            b""
        )
        .await
        .1 == json!([])
    );

    let path = format!("/api/v1/userstories/attachments/{id}");
    let (status, patched) = send(
        &sim,
        "PATCH",
        &path,
        &token,
        "application/json",
        br#"{"description": "d"}"#,
    )
    .await;
    assert_eq!((status, patched["description"].as_str()), (200, Some("d")));
    assert_eq!(send(&sim, "PUT", &path, &token, "application/json", b"{}").await.0, 405);
    assert_eq!(
        send(&sim, "DELETE", &path, &token, "application/json", b"").await.0,
        204
    );
    assert_eq!(send(&sim, "GET", &path, &token, "application/json", b"").await.0, 404);
}
