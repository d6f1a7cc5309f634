//! PostgreSQL connections as Heroku gives them: `DATABASE_URL`, and TLS the
//! way libpq's `sslmode=prefer`/`require` does it (encrypted, the certificate
//! not verified: Heroku Postgres relies on it); `sslmode=disable` is plain.

use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};

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
