//! Everything a Redis URL can carry: a password, an ACL user, a database index, TLS.

mod support;

use gilmour::engine::{Engine, HandlerOptions, Reply, Request, RequestOptions};
use serde_json::json;
use std::process::Command;
use std::time::Duration;
use support::Server;

async fn echo_round_trip(url: &str) {
    let engine = Engine::connect(url).await.expect("connect");
    engine
        .reply_to(
            "urls.echo",
            HandlerOptions::default(),
            |request: Request| async move { Reply::ok(request.into_data()) },
        )
        .await
        .expect("reply_to");
    let response = engine
        .request(
            "urls.echo",
            json!("through"),
            RequestOptions::timeout(Duration::from_secs(5)),
        )
        .await
        .expect("request");
    assert_eq!(response.data(), &json!("through"));
    engine.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_acl_user_and_database_index() {
    let server = Server::start_with(&["--requirepass", "s3cret"]);
    let port = server.port();
    echo_round_trip(&format!("redis://:s3cret@127.0.0.1:{port}")).await;

    let wrong = Engine::connect(&format!("redis://:nope@127.0.0.1:{port}")).await;
    let error = wrong.err().expect("a wrong password is refused");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot connect to Redis at redis://:***@127.0.0.1:{port}"
        )),
        "{message}"
    );
    assert!(
        !message.contains("nope"),
        "the password never appears in messages"
    );

    // Without a password: refused at connect, said once.
    let error = Engine::connect(&format!("redis://127.0.0.1:{port}"))
        .await
        .err()
        .expect("a password is required");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot connect to Redis at redis://127.0.0.1:{port}: "
        )),
        "{message}"
    );
    assert_eq!(
        message.matches("Authentication required").count(),
        1,
        "{message}"
    );

    let admin = Engine::connect(&format!("redis://:s3cret@127.0.0.1:{port}"))
        .await
        .expect("admin");
    let mut acl = redis::cmd("ACL");
    acl.arg("SETUSER")
        .arg("alice")
        .arg("on")
        .arg(">pw")
        .arg("~*")
        .arg("&*")
        .arg("+@all");
    let mut connection = redis::Client::open(format!("redis://:s3cret@127.0.0.1:{port}"))
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("admin connection");
    let _: () = acl.query_async(&mut connection).await.expect("ACL SETUSER");
    echo_round_trip(&format!("redis://alice:pw@127.0.0.1:{port}")).await;
    admin.shutdown().await.expect("shutdown");

    // Locks land in the database the URL names.
    let engine = Engine::connect(&format!("redis://:s3cret@127.0.0.1:{port}/3"))
        .await
        .expect("db 3");
    engine
        .reply_to(
            "urls.db",
            HandlerOptions::default(),
            |_request: Request| async move { Reply::ok(1) },
        )
        .await
        .expect("reply_to");
    let response = engine
        .request(
            "urls.db",
            json!(null),
            RequestOptions::timeout(Duration::from_secs(5)),
        )
        .await
        .expect("request");
    let lock = format!("{}_default", response.sender);
    let mut exists = redis::cmd("EXISTS");
    exists.arg(&lock);
    let in_db0: i64 = exists
        .query_async(&mut connection)
        .await
        .expect("EXISTS in db 0");
    let _: () = redis::cmd("SELECT")
        .arg(3)
        .query_async(&mut connection)
        .await
        .expect("SELECT");
    let in_db3: i64 = exists
        .query_async(&mut connection)
        .await
        .expect("EXISTS in db 3");
    assert_eq!((in_db0, in_db3), (0, 1));
}

struct Pki {
    dir: std::path::PathBuf,
}

impl Pki {
    /// A CA and a server certificate for 127.0.0.1, written as PEM files.
    fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let dir = std::env::temp_dir().join(format!("gilmour-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().expect("server key");
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("server params");
        let cert = params.signed_by(&key, &issuer).expect("server certificate");
        std::fs::write(dir.join("ca.pem"), ca_cert.pem()).expect("write CA");
        std::fs::write(dir.join("server.pem"), cert.pem()).expect("write certificate");
        std::fs::write(dir.join("server.key"), key.serialize_pem()).expect("write key");
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().expect("utf-8 path").to_owned()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// TLS is checked through the binary, which reads the trusted roots from the system or
/// from SSL_CERT_FILE (set per process, so the test does not touch its own environment).
#[test]
fn tls_with_a_trusted_ca_and_with_insecure() {
    let pki = Pki::new();
    let server = Server::start_tls(
        &pki.path("server.pem"),
        &pki.path("server.key"),
        &pki.path("ca.pem"),
    );
    let gilmour = |url: &str, trust: Option<&str>, args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gilmour"));
        command.arg("--redis").arg(url).args(args);
        if let Some(ca) = trust {
            command.env("SSL_CERT_FILE", ca);
        }
        command
    };
    let url = server.url();
    assert!(url.starts_with("rediss://"));
    let mut echo = gilmour(&url, Some(&pki.path("ca.pem")), &["reply", "urls.tls"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("reply over TLS");
    let mut stderr = std::io::BufReader::new(echo.stderr.take().expect("stderr"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).expect("serving line");
    assert!(line.contains("serving"), "{line}");

    let output = gilmour(
        &url,
        Some(&pki.path("ca.pem")),
        &["request", "urls.tls", "secure"],
    )
    .output()
    .expect("run");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "\"secure\"\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let insecure = format!("{url}/#insecure");
    let output = gilmour(&insecure, None, &["request", "urls.tls", "anyway"])
        .output()
        .expect("run");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "\"anyway\"\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Without trusting the CA, the certificate is refused.
    let empty = pki.path("none.pem");
    std::fs::write(&empty, "").expect("empty trust file");
    let output = gilmour(&url, Some(&empty), &["request", "urls.tls", "x"])
        .output()
        .expect("run");
    assert_eq!(
        output.status.code(),
        Some(3),
        "a refused certificate: Redis is not reached"
    );
    let _ = echo.kill();
    let _ = echo.wait();
}

#[test]
fn socket_url_passwords_never_reach_the_terminal() {
    let socket = std::env::temp_dir().join(format!("gilmour-urls-{}.sock", std::process::id()));
    let socket = socket.display().to_string();
    let server = Server::start_with(&["--unixsocket", &socket, "--requirepass", "hunter2"]);
    for url in [
        format!("unix://{socket}?pass=hunter2"),
        format!("redis+unix://{socket}?db=0&pass=hunter2"),
    ] {
        let serving = support::process::Background::start_at(&url, &["reply", "urls.sock"]);
        let banner = serving.stderr_line();
        assert!(
            banner.starts_with("gilmour: serving urls.sock on "),
            "{banner}"
        );
        assert!(banner.contains("pass=***"), "{banner}");
        assert!(!banner.contains("hunter2"), "{banner}");
        drop(serving);
        // A wrong password is refused: the error shows the URL, masked.
        let wrong = url.replace("hunter2", "wrong-one");
        let output = support::process::gilmour_at(&wrong)
            .args(["request", "urls.sock", "x"])
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("wrong-one"), "{stderr}");
    }
    drop(server);
}
