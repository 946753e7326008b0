//! An auth plugin (taiga-contrib-ldap-auth and its forks) adds a login `type` that signs in
//! against its directory; without it, Taiga refuses the type (recording 4).

use std::net::SocketAddr;

use taiga_sim::{Mount, Seed, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn login(sim: &Simulator, login_type: &str, username: &str, password: &str) -> String {
    let body = format!(r#"{{"type":"{login_type}","username":"{username}","password":"{password}"}}"#);
    let raw = format!(
        "POST /api/v1/auth HTTP/1.1\r\nhost: taiga\r\nconnection: close\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let address = sim.control_url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.expect("connects");
    stream.write_all(raw.as_bytes()).await.expect("writes");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn the_plugin_type_signs_directory_users_in_and_registers_them() {
    let mount = Mount {
        auth_plugin: Some("ldap".to_owned()),
        ..Mount::default()
    };
    let sim = Simulator::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), Seed::Users, mount)
        .await
        .expect("starts");
    let normal = login(&sim, "normal", "dana", "directory-pass").await;
    assert!(normal.starts_with("HTTP/1.1 401"), "not a Taiga user yet: {normal}");
    let wrong = login(&sim, "ldap", "dana", "wrong").await;
    assert!(wrong.starts_with("HTTP/1.1 400"), "{wrong}");
    assert!(wrong.contains("WrongArguments"), "{wrong}");
    let signed_in = login(&sim, "ldap", "dana", "directory-pass").await;
    assert!(signed_in.starts_with("HTTP/1.1 200"), "{signed_in}");
    assert!(
        signed_in.contains(r#""username":"dana""#) && signed_in.contains("auth_token"),
        "{signed_in}"
    );
    assert!(
        login(&sim, "ldap", "dana", "directory-pass")
            .await
            .starts_with("HTTP/1.1 200")
    );
    assert!(
        login(&sim, "normal", "admin", "123123")
            .await
            .starts_with("HTTP/1.1 200")
    );
}

#[tokio::test]
async fn without_the_plugin_its_type_is_an_invalid_login_type() {
    let sim = Simulator::start(Seed::Users).await.expect("starts");
    let answer = login(&sim, "ldap", "admin", "123123").await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains(r#""_error_message":"invalid login type""#), "{answer}");
}
