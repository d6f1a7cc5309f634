//! PostgreSQL connections as Heroku gives them: `DATABASE_URL`, and TLS the
//! way libpq's `sslmode=prefer`/`require` does it (encrypted, the certificate
//! not verified: Heroku Postgres relies on it); `sslmode=disable` is plain.

use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};

/// `url` (a `DATABASE_URL`) as a connection configuration named `application`,
/// with a 5 s connect timeout and keepalives that notice a silently dropped
/// connection in about 15 s (a session-level advisory lock lives only as long
/// as its connection).
pub fn config(url: &str, application: &str) -> Result<Config, postgres::Error> {
    let mut config: Config = url.parse()?;
    config.application_name(application);
    config.connect_timeout(std::time::Duration::from_secs(5));
    config.keepalives(true);
    config.keepalives_idle(std::time::Duration::from_secs(5));
    config.keepalives_interval(std::time::Duration::from_secs(2));
    config.keepalives_retries(3);
    Ok(config)
}

/// libpq's `prefer`/`require` encrypt without verifying the certificate
/// (Heroku Postgres relies on this), so the connector does the same.
fn tls() -> tokio_postgres_rustls::MakeRustlsConnect {
    tokio_postgres_rustls::MakeRustlsConnect::new(crate::tls::client_config(false))
}

/// Connect (blocking; bound the wait with `Config::connect_timeout` and a
/// thread when the server may stall).
pub fn connect(config: &Config) -> Result<Client, postgres::Error> {
    if config.get_ssl_mode() == SslMode::Disable {
        config.connect(NoTls)
    } else {
        config.connect(tls())
    }
}
