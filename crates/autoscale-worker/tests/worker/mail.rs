//! Notifications mailed over SMTP, as the seed sends them.

use super::*;

/// A real SMTP server on loopback (aiosmtpd, storing what it receives in a
/// Maildir), stopped when dropped.
struct Smtp {
    child: std::process::Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl Smtp {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .spawn()
            .expect("python3 -m aiosmtpd (scripts/bootstrap installs it)");
        // Dropped (and so stopped) on every path, the panic's included.
        let smtp = Self {
            child,
            port,
            maildir,
        };
        // Until the port answers (Python's start is slow on a loaded machine).
        let mut smtp = smtp;
        let deadline = std::time::Instant::now() + WITHIN;
        while std::time::Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return smtp;
            }
            if let Ok(Some(status)) = smtp.child.try_wait() {
                panic!("aiosmtpd exited ({status}): install it with `python3 -m pip install aiosmtpd` (scripts/bootstrap does)");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aiosmtpd did not listen on {port} within {WITHIN:?}");
    }

    fn messages(&self) -> Vec<String> {
        let new = self.maildir.path().join("mail/new");
        std::fs::read_dir(new)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_wanted_notification_is_mailed_to_the_admins_over_smtp_as_the_seed_sends_it() {
    let smtp = Smtp::start();
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    publish(&pq, 0);
    publish(&gq, 0);
    let api = small_api();
    // Slow beats at web's max of 1: "needs exceed max", which the seed's
    // settings send by default.
    let target = heartbeat_target(150);
    let dir = app(&pq, &gq);
    let mut env = env(&api, &target, AMQP);
    env.insert("AUTOSCALE_MAX_DYNOS", "1".into());
    env.insert(
        "AUTOSCALE_NOTIFY_EMAILS",
        "ops@example.com, Dev <dev@example.com>".into(),
    );
    env.insert("EMAIL_URL", format!("smtp://127.0.0.1:{}", smtp.port));
    env.insert("SERVER_EMAIL", "autoscale@refapp.example.com".into());
    let (log, ended) = run_ticks(dir.path(), &env, false, 3);
    delete(&[&pq, &gq]);
    assert!(ended.is_ok(), "{log}");
    assert!(
        log.contains("\"kind\":\"needs_exceed_max\"") && log.contains("\"email\":true"),
        "{log}"
    );
    let mail = smtp.messages();
    assert_eq!(mail.len(), 1, "one mail per episode, not per tick: {log}");
    let m = &mail[0];
    assert!(
        m.contains("Subject: [autoscale] refapp: needs_exceed_max"),
        "{m}"
    );
    assert!(m.contains("From: autoscale@refapp.example.com"), "{m}");
    assert!(
        m.contains("ops@example.com") && m.contains("dev@example.com"),
        "{m}"
    );
    assert!(m.contains("web"), "{m}");
}

/// The mail server through a fault proxy: a stalled one fails the send
/// within the transport's timeout (the tick goes on), and once it answers
/// again mail goes out (lettre's pool drops the stalled connection).
#[test]
fn a_mail_server_that_stops_answering_fails_the_send_in_time_and_mail_resumes_after() {
    let smtp = Smtp::start();
    let proxy = fault_proxy::FaultProxy::start(format!("127.0.0.1:{}", smtp.port).parse().unwrap());
    let env = HashMap::from([
        ("AUTOSCALE_NOTIFY_EMAILS", "ops@example.com".to_string()),
        ("EMAIL_URL", format!("smtp://127.0.0.1:{}", proxy.port())),
    ]);
    let mail = autoscale_worker::Mail::from_env(&|k| env.get(k).cloned(), "refapp")
        .unwrap()
        .unwrap();
    mail.send("[autoscale] one", "first").unwrap();

    proxy.stall();
    let t = std::time::Instant::now();
    let stalled = mail.send("[autoscale] two", "stalled");
    let took = t.elapsed();
    assert!(stalled.is_err(), "a stalled server fails the send");
    assert!(
        took < Duration::from_secs(12),
        "within the 10 s timeout: {took:?}"
    );

    proxy.pass();
    proxy.cut();
    let resumed = mail
        .send("[autoscale] three", "after")
        .or_else(|_| mail.send("[autoscale] three", "after"));
    assert!(resumed.is_ok(), "{resumed:?}");
    let subjects: Vec<String> = smtp
        .messages()
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.starts_with("Subject:"))
                .map(str::to_string)
        })
        .collect();
    assert!(
        subjects.iter().any(|s| s.contains("one")) && subjects.iter().any(|s| s.contains("three")),
        "{subjects:?}"
    );
}

#[test]
fn recipients_without_a_mail_server_are_a_configuration_error_naming_what_to_set() {
    let api = small_api();
    let target = heartbeat_target(10);
    let dir = app("q1", "q2");
    let mut env = env(&api, &target, AMQP);
    env.insert("AUTOSCALE_NOTIFY_EMAILS", "ops@example.com".into());
    let e = Config::load(dir.path(), &|k| env.get(k).cloned(), true)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("EMAIL_URL") && e.contains("mail add-on"), "{e}");
    env.insert("AUTOSCALE_NOTIFY_EMAILS", "not an address".into());
    env.insert("EMAIL_URL", "smtp://127.0.0.1:2525".into());
    let e = Config::load(dir.path(), &|k| env.get(k).cloned(), true)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("AUTOSCALE_NOTIFY_EMAILS") && e.contains("not an e-mail address"),
        "{e}"
    );
}
