//! Notifications by e-mail, as the seed sends them to the admins: over SMTP,
//! configured from the variables Heroku's mail add-ons set.
//!
//! Recipients: `AUTOSCALE_NOTIFY_EMAILS` (comma-separated; the seed's Django
//! `ADMINS` are not readable outside Django). Server, the first of:
//! `EMAIL_URL` or `SMTP_URL` (`smtp://user:password@host:port`: STARTTLS,
//! required except on loopback; `smtps://`: TLS from the start), Mailgun's
//! `MAILGUN_SMTP_SERVER`/`_PORT`/`_LOGIN`/`_PASSWORD`, SendGrid's
//! `SENDGRID_API_KEY`, Postmark's `POSTMARK_API_TOKEN`. Sender:
//! `AUTOSCALE_EMAIL_FROM`, `SERVER_EMAIL` or `DEFAULT_FROM_EMAIL` (Django's),
//! else `autoscale@<app>.herokuapp.com`.

use crate::WorkerError;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};
use std::time::Duration;

/// A notification that could not be mailed (logged; the worker goes on).
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the message: {0}")]
    Message(#[from] lettre::error::Error),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

pub struct Mail {
    transport: SmtpTransport,
    from: Mailbox,
    to: Vec<Mailbox>,
    /// Where mail goes, for the start line (no credentials).
    pub(crate) server: String,
}

fn config(why: impl Into<String>) -> WorkerError {
    WorkerError::Config(why.into())
}

fn mailbox(setting: &str, text: &str) -> Result<Mailbox, WorkerError> {
    text.trim().parse().map_err(|e| {
        config(format!(
            "{setting}: `{}` is not an e-mail address ({e})",
            text.trim()
        ))
    })
}

struct Server {
    host: String,
    port: Option<u16>,
    implicit_tls: bool,
    credentials: Option<(String, String)>,
}

fn server_from_url(setting: &str, text: &str) -> Result<Server, WorkerError> {
    let url = url::Url::parse(text).map_err(|e| {
        config(format!(
            "{setting} is not a URL ({e}): e.g. smtp://user:password@smtp.example.com:587"
        ))
    })?;
    let implicit_tls = match url.scheme() {
        "smtp" | "submission" => false,
        "smtps" => true,
        other => {
            return Err(config(format!(
                "{setting}: unsupported scheme {other}://; use smtp:// (STARTTLS) or smtps:// (TLS)"
            )))
        }
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let credentials = (!url.username().is_empty()).then(|| {
        (
            decode(url.username()),
            url.password().map(decode).unwrap_or_default(),
        )
    });
    Ok(Server {
        host: url
            .host_str()
            .ok_or_else(|| config(format!("{setting} has no host")))?
            .to_string(),
        port: url.port(),
        implicit_tls,
        credentials,
    })
}

fn server(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Server>, WorkerError> {
    let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    if let Some((setting, url)) = ["EMAIL_URL", "SMTP_URL"]
        .iter()
        .find_map(|k| get(k).map(|v| (*k, v)))
    {
        return server_from_url(setting, &url).map(Some);
    }
    if let Some(host) = get("MAILGUN_SMTP_SERVER") {
        return Ok(Some(Server {
            host,
            port: get("MAILGUN_SMTP_PORT").and_then(|p| p.trim().parse().ok()),
            implicit_tls: false,
            credentials: get("MAILGUN_SMTP_LOGIN").zip(get("MAILGUN_SMTP_PASSWORD")),
        }));
    }
    if let Some(key) = get("SENDGRID_API_KEY") {
        return Ok(Some(Server {
            host: "smtp.sendgrid.net".into(),
            port: Some(587),
            implicit_tls: false,
            credentials: Some(("apikey".into(), key)),
        }));
    }
    if let Some(token) = get("POSTMARK_API_TOKEN") {
        return Ok(Some(Server {
            host: get("POSTMARK_SMTP_SERVER").unwrap_or_else(|| "smtp.postmarkapp.com".into()),
            port: Some(587),
            implicit_tls: false,
            credentials: Some((token.clone(), token)),
        }));
    }
    Ok(None)
}

impl Mail {
    /// `None`: no recipients configured (no e-mail, as before).
    pub fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
        app: &str,
    ) -> Result<Option<Self>, WorkerError> {
        let Some(list) = env("AUTOSCALE_NOTIFY_EMAILS").filter(|v| !v.trim().is_empty()) else {
            return Ok(None);
        };
        let to = list
            .split(',')
            .filter(|a| !a.trim().is_empty())
            .map(|a| mailbox("AUTOSCALE_NOTIFY_EMAILS", a))
            .collect::<Result<Vec<_>, _>>()?;
        let from = ["AUTOSCALE_EMAIL_FROM", "SERVER_EMAIL", "DEFAULT_FROM_EMAIL"]
            .iter()
            .find_map(|k| env(k).filter(|v| !v.trim().is_empty()).map(|v| (*k, v)))
            .map_or_else(
                || {
                    mailbox(
                        "AUTOSCALE_EMAIL_FROM",
                        &format!("autoscale@{app}.herokuapp.com"),
                    )
                },
                |(k, v)| mailbox(k, &v),
            )?;
        let server = server(env)?.ok_or_else(|| {
            config("AUTOSCALE_NOTIFY_EMAILS is set, but no mail server is: add a mail add-on (Mailgun, SendGrid, Postmark) or set EMAIL_URL=smtp://user:password@host:587")
        })?;
        let loopback = matches!(server.host.as_str(), "127.0.0.1" | "localhost" | "::1");
        let builder = if server.implicit_tls {
            SmtpTransport::relay(&server.host)
        } else if loopback {
            Ok(SmtpTransport::builder_dangerous(&server.host))
        } else {
            SmtpTransport::starttls_relay(&server.host)
        }
        .map_err(|e| config(format!("mail server {}: {e}", server.host)))?;
        let mut builder = builder.timeout(Some(Duration::from_secs(10)));
        if let Some(port) = server.port {
            builder = builder.port(port);
        }
        if let Some((user, password)) = server.credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Some(Self {
            transport: builder.build(),
            from,
            to,
            server: format!(
                "{}:{}",
                server.host,
                server
                    .port
                    .map_or_else(|| "default".into(), |p| p.to_string())
            ),
        }))
    }

    /// Send one notification to every recipient.
    pub fn send(&self, subject: &str, body: &str) -> Result<(), MailError> {
        let mut message = Message::builder().from(self.from.clone()).subject(subject);
        for to in &self.to {
            message = message.to(to.clone());
        }
        let message = message.body(body.to_string())?;
        self.transport.send(&message)?;
        Ok(())
    }
}
