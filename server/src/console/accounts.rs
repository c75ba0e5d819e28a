//! Supervisor accounts and their sessions: Argon2id passwords, lockout after repeated
//! failures, session tokens kept as their SHA-256, a CSRF token per session, the TOTP second
//! factor, and the districts each account may see.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use lgt_common::crypto::sha256;
use lgt_protocol::hex;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;

use super::totp;
use crate::db::{now, Db};

/// Failed logins in a row before an account locks.
pub const MAX_FAILURES: i64 = 5;
/// How long a locked account stays locked.
pub const LOCK_SECS: i64 = 15 * 60;
/// A session unused this long ends.
pub const IDLE_SECS: i64 = 30 * 60;
/// A session ends this long after login, used or not.
pub const SESSION_SECS: i64 = 12 * 3600;
/// A second factor given this long ago still covers bulk personal-data actions.
pub const TOTP_FRESH_SECS: i64 = 10 * 60;

/// Argon2id at OWASP's first recommended setting (19 MiB, 2 passes, 1 lane).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, Some(32)).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the OS random generator");
    bytes
}

/// A PHC string: `$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH`.
pub fn hash_password(password: &str) -> String {
    let salt: [u8; 16] = random();
    let mut out = [0u8; 32];
    argon2()
        .hash_password_into(password.as_bytes(), &salt, &mut out)
        .expect("Argon2id with a 16-byte salt");
    format!(
        "$argon2id$v=19$m=19456,t=2,p=1${}${}",
        B64.encode(salt),
        B64.encode(out)
    )
}

/// Whether `password` matches the PHC string `stored` (compared in constant time).
pub fn verify_password(stored: &str, password: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let [_, "argon2id", "v=19", "m=19456,t=2,p=1", salt, hash] = parts.as_slice() else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (B64.decode(salt), B64.decode(hash)) else {
        return false;
    };
    let mut out = vec![0u8; hash.len()];
    if argon2()
        .hash_password_into(password.as_bytes(), &salt, &mut out)
        .is_err()
    {
        return false;
    }
    out.len() == hash.len() && out.iter().zip(&hash).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
}

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Every district; publishes watchlists; adds accounts.
    Admin,
    /// The districts given to it.
    Supervisor,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
        }
    }
}

/// A signed-in account.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    /// Account name.
    pub username: String,
    /// Its role.
    pub role: Role,
    /// The districts it may see (every one for an admin).
    pub districts: Vec<String>,
    /// Whether it may see which watchlist entry a hit matched.
    pub watchlist: bool,
}

impl Account {
    /// Whether the account may see `district`.
    pub fn may_see(&self, district: &str) -> bool {
        self.role == Role::Admin || self.districts.iter().any(|d| d == district)
    }
}

/// A new account's second-factor secret, to put into an authenticator app once.
#[derive(Debug, Serialize)]
pub struct NewAccount {
    /// Account name.
    pub username: String,
    /// The TOTP secret (base32).
    pub totp_secret: String,
    /// The same as an `otpauth://` URI (authenticator apps scan it as a QR code).
    pub otpauth_uri: String,
}

/// Creates an account (or refuses a name taken). Districts are six-digit codes.
pub async fn create(
    db: &Db,
    username: &str,
    password: &str,
    role: Role,
    districts: &[String],
    watchlist: bool,
) -> anyhow::Result<NewAccount> {
    anyhow::ensure!(
        !username.is_empty()
            && username.len() <= 64
            && username
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
        "an account name is 1 to 64 letters, digits, '-', '_' or '.'"
    );
    anyhow::ensure!(
        password.chars().count() >= 12,
        "a password has at least 12 characters"
    );
    for d in districts {
        anyhow::ensure!(
            d.len() == 6 && d.bytes().all(|b| b.is_ascii_digit()),
            "a district is a six-digit code"
        );
    }
    anyhow::ensure!(
        role == Role::Admin || !districts.is_empty(),
        "a supervisor needs at least one district"
    );
    let secret: [u8; totp::SECRET_LEN] = random();
    let encoded = totp::base32(&secret);
    let mut tx = db.pool.begin().await?;
    let taken: Option<(String,)> =
        sqlx::query_as("SELECT username FROM console_accounts WHERE username = $1")
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?;
    anyhow::ensure!(taken.is_none(), "the account {username} exists");
    sqlx::query(
        "INSERT INTO console_accounts (username, password_hash, totp_secret, role, watchlist, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(username)
    .bind(hash_password(password))
    .bind(db.vault.seal("console_accounts", username, "totp_secret", &encoded))
    .bind(role.name())
    .bind(i64::from(watchlist))
    .bind(now())
    .execute(&mut *tx)
    .await?;
    for d in districts {
        sqlx::query("INSERT INTO console_districts (username, district) VALUES ($1, $2)")
            .bind(username)
            .bind(d)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    tracing::info!(account = %username, role = role.name(), "console account created");
    Ok(NewAccount {
        username: username.to_owned(),
        otpauth_uri: format!(
            "otpauth://totp/lgt-console:{username}?secret={encoded}&issuer=lgt-console&algorithm=SHA1&digits=6&period=30"
        ),
        totp_secret: encoded,
    })
}

async fn account(db: &Db, username: &str) -> sqlx::Result<Option<Account>> {
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT role, watchlist FROM console_accounts WHERE username = $1")
            .bind(username)
            .fetch_optional(&db.pool)
            .await?;
    let Some((role, watchlist)) = row else {
        return Ok(None);
    };
    let districts: Vec<(String,)> = sqlx::query_as(
        "SELECT district FROM console_districts WHERE username = $1 ORDER BY district",
    )
    .bind(username)
    .fetch_all(&db.pool)
    .await?;
    Ok(Some(Account {
        username: username.to_owned(),
        role: if role == "admin" {
            Role::Admin
        } else {
            Role::Supervisor
        },
        districts: districts.into_iter().map(|(d,)| d).collect(),
        watchlist: watchlist != 0,
    }))
}

/// Why a login failed. The answer to the user is the same for an unknown name and a wrong
/// password; a locked account says so (and when it unlocks), whatever the password.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginError {
    /// Unknown name or wrong password.
    Refused,
    /// Too many failures: locked until this Unix second.
    Locked(i64),
}

/// A new session: the cookie's token and the CSRF token.
#[derive(Debug)]
pub struct NewSession {
    /// The cookie's value (shown once; the server keeps its SHA-256).
    pub token: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// The account.
    pub account: Account,
}

/// Checks a password; counts failures and locks the account at [`MAX_FAILURES`].
pub async fn login(db: &Db, username: &str, password: &str) -> anyhow::Result<NewSession> {
    let now = now();
    let row: Option<(String, i64, i64)> = sqlx::query_as(
        "SELECT password_hash, failed_logins, locked_until FROM console_accounts WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(&db.pool)
    .await?;
    let Some((hash, failures, locked_until)) = row else {
        // The same work as for a known name, so timing does not tell names apart.
        let _ = verify_password(&DUMMY_HASH, password);
        return Err(LoginError::Refused.into());
    };
    if locked_until > now {
        return Err(LoginError::Locked(locked_until).into());
    }
    if !verify_password(&hash, password) {
        let failures = failures + 1;
        let (failures, locked_until) = if failures >= MAX_FAILURES {
            (0, now + LOCK_SECS)
        } else {
            (failures, 0)
        };
        sqlx::query(
            "UPDATE console_accounts SET failed_logins = $2, locked_until = $3 WHERE username = $1",
        )
        .bind(username)
        .bind(failures)
        .bind(locked_until)
        .execute(&db.pool)
        .await?;
        tracing::warn!(account = %username, locked = locked_until > 0, "console login refused");
        return Err(if locked_until > 0 {
            LoginError::Locked(locked_until)
        } else {
            LoginError::Refused
        }
        .into());
    }
    sqlx::query("UPDATE console_accounts SET failed_logins = 0 WHERE username = $1")
        .bind(username)
        .execute(&db.pool)
        .await?;
    // Sessions past their time go, whoever's they were.
    sqlx::query("DELETE FROM console_sessions WHERE last_seen < $1 OR created_at < $2")
        .bind(now - IDLE_SECS)
        .bind(now - SESSION_SECS)
        .execute(&db.pool)
        .await?;
    let token = hex(&random::<32>());
    let csrf = hex(&random::<32>());
    sqlx::query(
        "INSERT INTO console_sessions (token_sha256, username, csrf, created_at, last_seen)
         VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(hex(&sha256(token.as_bytes())))
    .bind(username)
    .bind(&csrf)
    .bind(now)
    .execute(&db.pool)
    .await?;
    let account = account(db, username).await?.ok_or(LoginError::Refused)?;
    tracing::info!(account = %username, "console login");
    Ok(NewSession {
        token,
        csrf,
        account,
    })
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginError::Refused => f.write_str("wrong account name or password"),
            LoginError::Locked(_) => f.write_str("the account is locked"),
        }
    }
}

impl std::error::Error for LoginError {}

static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("not a password of anyone"));

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    /// SHA-256 of its token (hex).
    pub id: String,
    /// Its CSRF token.
    pub csrf: String,
    /// When its second factor was last given.
    pub totp_at: Option<i64>,
    /// The account.
    pub account: Account,
}

impl Session {
    /// Whether the second factor was given recently enough for a bulk action.
    pub fn totp_fresh(&self) -> bool {
        self.totp_at.is_some_and(|at| now() - at <= TOTP_FRESH_SECS)
    }

    /// Whether `given` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        given.len() == self.csrf.len()
            && given
                .bytes()
                .zip(self.csrf.bytes())
                .fold(0u8, |a, (x, y)| a | (x ^ y))
                == 0
    }
}

/// The session of a cookie token, if live; marks it used. An expired one is deleted.
pub async fn session(db: &Db, token: &str) -> sqlx::Result<Option<Session>> {
    let id = hex(&sha256(token.as_bytes()));
    let row: Option<(String, String, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT username, csrf, created_at, last_seen, totp_at FROM console_sessions WHERE token_sha256 = $1",
    )
    .bind(&id)
    .fetch_optional(&db.pool)
    .await?;
    let Some((username, csrf, created_at, last_seen, totp_at)) = row else {
        return Ok(None);
    };
    let now = now();
    if now - last_seen > IDLE_SECS || now - created_at > SESSION_SECS {
        end(db, &id).await?;
        return Ok(None);
    }
    sqlx::query("UPDATE console_sessions SET last_seen = $2 WHERE token_sha256 = $1")
        .bind(&id)
        .bind(now)
        .execute(&db.pool)
        .await?;
    let Some(account) = account(db, &username).await? else {
        return Ok(None);
    };
    Ok(Some(Session {
        id,
        csrf,
        totp_at,
        account,
    }))
}

/// Ends a session (logout).
pub async fn end(db: &Db, session_id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM console_sessions WHERE token_sha256 = $1")
        .bind(session_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Checks a TOTP code for the session's account; on success the session may take bulk
/// actions for [`TOTP_FRESH_SECS`]. A code is accepted once.
pub async fn second_factor(db: &Db, session: &Session, code: &str) -> anyhow::Result<bool> {
    let username = &session.account.username;
    let (sealed, last_step): (String, i64) = sqlx::query_as(
        "SELECT totp_secret, totp_last_step FROM console_accounts WHERE username = $1",
    )
    .bind(username)
    .fetch_one(&db.pool)
    .await?;
    let secret = db
        .vault
        .open("console_accounts", username, "totp_secret", &sealed)
        .ok()
        .and_then(|s| totp::unbase32(&s))
        .ok_or_else(|| anyhow::anyhow!("the account's second factor is unreadable"))?;
    let now = now();
    let Some(step) = totp::verify(&secret, code, now, last_step) else {
        tracing::warn!(account = %username, "console second factor refused");
        return Ok(false);
    };
    // Spent: only a later step is accepted from now on, even under a race.
    let spent = sqlx::query(
        "UPDATE console_accounts SET totp_last_step = $2 WHERE username = $1 AND totp_last_step < $2",
    )
    .bind(username)
    .bind(step)
    .execute(&db.pool)
    .await?
    .rows_affected();
    if spent != 1 {
        return Ok(false);
    }
    sqlx::query("UPDATE console_sessions SET totp_at = $2 WHERE token_sha256 = $1")
        .bind(&session.id)
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(true)
}

/// Writes one line of the console's audit trail (ids only).
pub async fn audit(
    db: &Db,
    account: &Account,
    action: &str,
    district: Option<&str>,
    record: Option<(&str, &str)>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO console_audit (id, at, username, action, district, record_kind, record_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(now())
    .bind(&account.username)
    .bind(action)
    .bind(district)
    .bind(record.map(|r| r.0))
    .bind(record.map(|r| r.1))
    .execute(&db.pool)
    .await?;
    Ok(())
}
