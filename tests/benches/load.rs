//! Load: many simulated phones against two `lgt-server` processes on one PostgreSQL database
//! (a table, not assertions on time).
//!
//! What it measures, and why: whether one server machine carries a city district's field day.
//! The real `lgt-server` binary runs twice (as behind a load balancer) on loopback ports over
//! one fresh PostgreSQL database, with its production limits; 1,000 simulated phones, spread
//! over 10 districts and split between the two processes, each enroll through the real
//! enrollment path (a one-time code, their own Ed25519 key, each from its own 127.x source
//! address so the per-address enrollment limit sees separate phones) and then, for a bounded
//! time, each repeat what the sync engine does: queue a coordinator's work (registrations,
//! permit accepts, issues under reserved numbers, deliveries, some cancellations and address
//! changes), push it, refill the permit-number pool, and pull their district until quiet,
//! then pause. A simulated phone is the engine's own transport (`lgt_core::sync::Client`) with
//! payloads built as the core builds them (validated registrations), not a full phone store:
//! the server sees what real phones send.
//!
//! Printed: per request kind the count, errors and p50/p99/max latency; operations, syncs,
//! requests and pulled entries per second; the servers' RSS; the CPU time of the servers,
//! of the PostgreSQL backends serving them and of the load generator; the machine's load. At the end the
//! database must hold exactly the operations the servers acknowledged (the ledger, the
//! registrations, the permits): a load test that silently lost data would prove nothing.
//!
//! ```text
//! cargo build --release -p lgt-server -p lgt-e2e --bin lgt-server
//! LGT_TEST_DATABASE_URL=postgres://... cargo bench -p lgt-e2e --bench load
//! ```
//!
//! Knobs: `LGT_LOAD_PHONES` (1000), `LGT_LOAD_SECONDS` (the field-day window, 60),
//! `LGT_LOAD_DISTRICTS` (10), `LGT_LOAD_PAUSE_MS` (a phone's mean pause between syncs, 2000),
//! `LGT_LOAD_VISITS` (registrations a phone makes between two syncs, on average: 2; 0.25 queues
//! one at every fourth sync or so),
//! `LGT_SERVER_BIN` (the server binary; by default `lgt-server` in the bench's own target
//! directory, refused when older than the server's sources).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use lgt_core::codes::{table, CodeTableId};
use lgt_core::crypto::SigningKey;
use lgt_core::permit::PermitEvent;
use lgt_core::registration::{validate, Dwelling, Registration};
use lgt_core::sync::{Client, Credentials, SyncError};
use lgt_core::synthetic::SyntheticPeople;
use lgt_e2e::{load_average, server_binary, ProcessLimits, ServerProcess};
use lgt_protocol::{
    hex, paths, Bucket, BucketCursor, EnrollRequest, EnrollResponse, NumbersRequest,
    NumbersResponse, OperationResult, Outcome, PullRequest, PullResponse, PushOperation,
    PushRequest, PushResponse, QueueHealth,
};
use lgt_server::Db;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// What the engine asks per bucket per pull (its `PULL_LIMIT`).
const PULL_LIMIT: u32 = 500;
/// The engine's push batch.
const PUSH_BATCH: usize = 200;
/// Phones enrolling at once (a morning's enrollment, not the field day).
const ENROLLING_AT_ONCE: usize = 100;

fn main() {
    let Some(config) = Config::from_env() else {
        println!("load: skipped (LGT_TEST_DATABASE_URL is not set)");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(config));
}

/// The run's settings, from the environment.
struct Config {
    database_url: String,
    server_bin: PathBuf,
    phones: usize,
    seconds: u64,
    districts: usize,
    pause: Duration,
    visits: f64,
}

impl Config {
    fn from_env() -> Option<Self> {
        let database_url = std::env::var("LGT_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let number = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        Some(Self {
            database_url,
            server_bin: server_binary(),
            phones: number("LGT_LOAD_PHONES", 1000) as usize,
            seconds: number("LGT_LOAD_SECONDS", 60),
            districts: (number("LGT_LOAD_DISTRICTS", 10) as usize).clamp(1, 99),
            pause: Duration::from_millis(number("LGT_LOAD_PAUSE_MS", 2000)),
            visits: std::env::var("LGT_LOAD_VISITS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2.0),
        })
    }

    /// The synthetic district codes (110101, 110102, ...).
    fn district(&self, phone: usize) -> String {
        format!("1101{:02}", phone % self.districts + 1)
    }
}

async fn run(config: Config) {
    println!(
        "load: {} phones, {} s field day, {} districts, mean pause {} ms, {} registrations per sync, server {}",
        config.phones,
        config.seconds,
        config.districts,
        config.pause.as_millis(),
        config.visits,
        config.server_bin.display()
    );
    println!(
        "build: {}; machine load at start: {}",
        if cfg!(debug_assertions) {
            "debug (numbers meaningless)"
        } else {
            "optimised"
        },
        load_average()
    );
    let scratch = ScratchDatabase::create(&config.database_url).await;
    let data = tempfile::tempdir().expect("temp dir");
    // Migrates and makes the key file before the servers start; issues the codes later.
    let db = Db::open(data.path(), Some(&scratch.url))
        .await
        .expect("database");
    let servers = [
        ServerProcess::start(
            &config.server_bin,
            data.path(),
            Some(&scratch.url),
            "127.0.0.1:0",
            ProcessLimits::Default,
        ),
        ServerProcess::start(
            &config.server_bin,
            data.path(),
            Some(&scratch.url),
            "127.0.0.1:0",
            ProcessLimits::Default,
        ),
    ];
    let mut tally = Tally::default();
    let phones = enroll_all(&config, &db, &servers, &mut tally).await;
    let cpu_before = Cpu::now(&servers, &scratch.name);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(config.seconds);
    let tasks: Vec<_> = phones
        .into_iter()
        .map(|phone| tokio::spawn(phone.field_day(deadline, config.pause, config.visits)))
        .collect();
    for task in tasks {
        tally.merge(task.await.expect("phone task"));
    }
    let elapsed = started.elapsed();
    let cpu = Cpu::now(&servers, &scratch.name).since(&cpu_before);
    let rss: Vec<(u64, u64)> = servers.iter().map(ServerProcess::rss_kib).collect();
    let stored = Stored::count(&db).await;
    report(&config, &tally, elapsed, &cpu, &rss);
    let exact = check_stored(&tally, &stored);
    drop(servers);
    db.pool.close().await;
    drop(scratch);
    assert!(
        exact,
        "the database does not hold exactly the acknowledged operations"
    );
}

/// A fresh database on the PostgreSQL server, dropped with the value (a failed run's too).
struct ScratchDatabase {
    name: String,
    admin_url: String,
    url: String,
}

impl ScratchDatabase {
    async fn create(admin_url: &str) -> Self {
        sqlx::any::install_default_drivers();
        let name = format!("lgt_load_{}", std::process::id());
        let admin = sqlx::AnyPool::connect(admin_url).await.expect("postgres");
        let create = format!("CREATE DATABASE {name}");
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&admin)
            .await
            .expect("create database");
        admin.close().await;
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
        Self {
            url: format!("{base}/{name}"),
            name,
            admin_url: admin_url.to_owned(),
        }
    }
}

impl Drop for ScratchDatabase {
    /// Drops the database (closing its connections) on a thread of its own, so it also runs
    /// inside the bench's runtime or while a panic unwinds.
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropping = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async {
                    let admin = sqlx::AnyPool::connect(&admin_url).await?;
                    sqlx::query(sqlx::AssertSqlSafe(drop))
                        .execute(&admin)
                        .await?;
                    admin.close().await;
                    Ok::<_, sqlx::Error>(())
                })
        });
        match dropping.join() {
            Ok(Ok(())) => {}
            _ => eprintln!("load: could not drop the database {}", self.name),
        }
    }
}

/// CPU seconds used so far by each server process, the PostgreSQL backends serving this
/// database, this process (the load generator) and the whole machine (busy and total).
struct Cpu {
    servers: Vec<f64>,
    /// By backend process id (a backend that ends before the last reading is not counted).
    postgres: BTreeMap<String, f64>,
    generator: f64,
    machine_busy: f64,
    machine_total: f64,
}

impl Cpu {
    fn now(servers: &[ServerProcess], database: &str) -> Self {
        let ticks = clock_ticks();
        let (machine_busy, machine_total) = machine_ticks();
        Self {
            servers: servers
                .iter()
                .map(|s| process_ticks(&s.pid().to_string()) / ticks)
                .collect(),
            postgres: postgres_backends(database)
                .into_iter()
                .map(|pid| {
                    let used = process_ticks(&pid) / ticks;
                    (pid, used)
                })
                .collect(),
            generator: process_ticks("self") / ticks,
            machine_busy: machine_busy / ticks,
            machine_total: machine_total / ticks,
        }
    }

    fn since(&self, before: &Self) -> Self {
        Self {
            servers: self
                .servers
                .iter()
                .zip(&before.servers)
                .map(|(a, b)| a - b)
                .collect(),
            postgres: self
                .postgres
                .iter()
                .map(|(pid, used)| {
                    let earlier = before.postgres.get(pid).copied().unwrap_or(0.0);
                    (pid.clone(), used - earlier)
                })
                .collect(),
            generator: self.generator - before.generator,
            machine_busy: self.machine_busy - before.machine_busy,
            machine_total: self.machine_total - before.machine_total,
        }
    }

    fn postgres_total(&self) -> f64 {
        self.postgres.values().sum()
    }
}

/// The process ids of PostgreSQL backends connected to `database` (their command line names
/// it: `postgres: USER DATABASE HOST(PORT) ...`).
fn postgres_backends(database: &str) -> Vec<String> {
    let needle = format!(" {database} ");
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|pid| pid.chars().all(|c| c.is_ascii_digit()))
                .filter(|pid| {
                    std::fs::read(format!("/proc/{pid}/cmdline"))
                        .map(|c| String::from_utf8_lossy(&c).contains(&needle))
                        .unwrap_or(false)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `getconf CLK_TCK` (100 on Linux unless told otherwise).
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(100.0)
}

/// User + system ticks of `/proc/<pid>/stat`.
fn process_ticks(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces); utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<f64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    fields.get(11).unwrap_or(&0.0) + fields.get(12).unwrap_or(&0.0)
}

/// Busy and total ticks of all CPUs, from `/proc/stat`.
fn machine_ticks() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let values: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    let total: f64 = values.iter().sum();
    // idle and iowait
    let idle = values.get(3).unwrap_or(&0.0) + values.get(4).unwrap_or(&0.0);
    (total - idle, total)
}

/// Issues every phone's one-time code, then enrolls the phones (at most
/// [`ENROLLING_AT_ONCE`] at a time). Phone `i` is of district `i % districts` and talks to
/// server `(i / districts) % 2`, so every district has phones on both processes.
async fn enroll_all(
    config: &Config,
    db: &Db,
    servers: &[ServerProcess],
    tally: &mut Tally,
) -> Vec<SimPhone> {
    let started = Instant::now();
    let mut codes = Vec::with_capacity(config.phones);
    for i in 0..config.phones {
        let district = config.district(i);
        let code = lgt_server::admin::create_enrollment_code(
            db,
            &format!("load-coordinator-{i}"),
            &district,
            3600,
            72 * 3600,
        )
        .await
        .expect("enrollment code")
        .code;
        codes.push((i, district, code));
    }
    let gate = Arc::new(tokio::sync::Semaphore::new(ENROLLING_AT_ONCE));
    let tasks: Vec<_> = codes
        .into_iter()
        .map(|(i, district, code)| {
            let url = servers[(i / config.districts) % servers.len()].url.clone();
            let gate = gate.clone();
            tokio::spawn(async move {
                let _permit = gate.acquire().await.expect("gate");
                SimPhone::enroll(i, district, &url, &code).await
            })
        })
        .collect();
    let mut phones = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (phone, took) = task.await.expect("enroll task");
        tally.latency("enroll", took);
        phones.push(phone);
    }
    println!(
        "enrolled {} phones in {:.1} s",
        phones.len(),
        started.elapsed().as_secs_f64()
    );
    phones
}

/// The `registration.create` payload, as the core queues it.
#[derive(Serialize)]
struct RegistrationCreated<'a> {
    person_id: &'a str,
    registration_id: &'a str,
    closes_registration_id: Option<&'a str>,
    registration: &'a Registration,
}

/// The `permit.event` payload, as the core queues it.
#[derive(Serialize)]
struct PermitEventOperation<'a> {
    permit_id: &'a str,
    base_version: u32,
    version: u32,
    occurred_on: NaiveDate,
    event: &'a PermitEvent,
}

/// Where one of the phone's permits stands (as the phone last changed it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Accepted,
    Issued,
    Delivered,
    Cancelled,
}

struct HeldPermit {
    id: String,
    version: u32,
    stage: Stage,
}

/// One simulated phone: its credentials, the engine's transport to its server, its outbox
/// and what it knows (permits, numbers, cursors).
struct SimPhone {
    district: String,
    client: Client,
    credentials: Credentials,
    people: SyntheticPeople,
    rng: ChaCha8Rng,
    today: NaiveDate,
    outbox: Vec<PushOperation>,
    permits: Vec<HeldPermit>,
    numbers: Vec<String>,
    cursors: BTreeMap<Bucket, i64>,
    tally: Tally,
}

impl SimPhone {
    /// Enrolls a new key with `code` at `url`, from the loopback address 127.1.x.y of phone
    /// `index`; returns the phone and the enrollment's latency.
    async fn enroll(index: usize, district: String, url: &str, code: &str) -> (Self, Duration) {
        let key = SigningKey::generate().expect("key");
        let request = EnrollRequest {
            code: code.to_owned(),
            public_key: hex(key.public_key().as_bytes()),
            client_version: "load-bench".into(),
        };
        let source = IpAddr::V4(Ipv4Addr::new(
            127,
            1,
            (index / 250) as u8,
            (index % 250 + 1) as u8,
        ));
        let http = reqwest::Client::builder()
            .local_address(source)
            .build()
            .expect("client");
        let started = Instant::now();
        let answer = http
            .post(format!("{url}{}", paths::ENROLL))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&request).expect("json"))
            .send()
            .await
            .expect("enroll");
        let status = answer.status();
        let body = answer.bytes().await.expect("enroll answer");
        let took = started.elapsed();
        assert!(
            status.is_success(),
            "enroll: {status}: {}",
            String::from_utf8_lossy(&body)
        );
        let enrolled: EnrollResponse = serde_json::from_slice(&body).expect("enroll answer");
        let today = Utc::now().date_naive();
        let phone = Self {
            district,
            client: Client::new(url, &[]).expect("client"),
            credentials: Credentials {
                device_id: enrolled.device_id,
                key,
            },
            people: SyntheticPeople::new(1000 + index as u64, today),
            rng: ChaCha8Rng::seed_from_u64(index as u64),
            today,
            outbox: Vec::new(),
            permits: Vec::new(),
            numbers: Vec::new(),
            cursors: BTreeMap::new(),
            tally: Tally::default(),
        };
        (phone, took)
    }

    /// Until `deadline`: work, sync, pause (about `pause`, at random); then pushes what is
    /// left, so every operation made is acknowledged. Starts at a random point of one pause,
    /// so phones do not sync in step.
    async fn field_day(mut self, deadline: Instant, pause: Duration, visits: f64) -> Tally {
        let first = self.rng.random_range(0.0..1.0);
        tokio::time::sleep(pause.mul_f64(first)).await;
        while Instant::now() < deadline {
            self.work(visits);
            self.sync().await;
            let factor = self.rng.random_range(0.5..1.5);
            tokio::time::sleep_until(
                (Instant::now() + pause.mul_f64(factor))
                    .min(deadline)
                    .into(),
            )
            .await;
        }
        for _ in 0..20 {
            if self.outbox.is_empty() || self.push().await {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        self.tally.unsent += self.outbox.len();
        self.tally
    }

    /// A coordinator's work between two syncs: `visits` registrations on average (its whole
    /// part, and one more at the odds of its fraction), half of them with a permit
    /// application; the next step of each permit in hand: an accepted one (this visit's too)
    /// issued under a reserved number, an issued one delivered, a delivered one now and then
    /// cancelled or moved to another address.
    fn work(&mut self, visits: f64) {
        let extra = self.rng.random_bool(visits.fract().clamp(0.0, 1.0));
        for _ in 0..visits.trunc() as usize + usize::from(extra) {
            let (person_id, registration_id, dwelling) = self.register();
            if self.rng.random_bool(0.5) {
                self.accept(&person_id, &registration_id, dwelling);
            }
        }
        for i in 0..self.permits.len() {
            let event = match self.permits[i].stage {
                Stage::Accepted => match self.numbers.pop() {
                    Some(number) => PermitEvent::Issue { number },
                    None => continue,
                },
                Stage::Issued => PermitEvent::Deliver,
                Stage::Delivered if self.rng.random_bool(0.02) => PermitEvent::Cancel {
                    reason: table(CodeTableId::CancellationReason).entries[0]
                        .code
                        .clone(),
                },
                Stage::Delivered if self.rng.random_bool(0.02) => PermitEvent::ChangeAddress {
                    dwelling: self.dwelling(),
                },
                Stage::Delivered | Stage::Cancelled => continue,
            };
            self.permit_event(i, event);
        }
    }

    /// A house code of the phone's district (5,000 of them, so persons share dwellings).
    fn house_code(&mut self) -> String {
        let n = self.rng.random_range(0..5000);
        format!("HC{}{n:06}", self.district)
    }

    /// A dwelling to move a permit's address to.
    fn dwelling(&mut self) -> Dwelling {
        Dwelling {
            house_code: self.house_code(),
            address: "synthetic".into(),
            housing_type: "10".into(),
        }
    }

    /// Queues a registration of a new synthetic person; returns its ids and dwelling.
    fn register(&mut self) -> (String, String, Dwelling) {
        let mut input = self.people.next_registration();
        input.dwelling.house_code = self.house_code();
        let (registration, _) = validate(&input, self.today).expect("a valid registration");
        let person_id = uuid::Uuid::now_v7().to_string();
        let registration_id = uuid::Uuid::now_v7().to_string();
        let payload = RegistrationCreated {
            person_id: &person_id,
            registration_id: &registration_id,
            closes_registration_id: None,
            registration: &registration,
        };
        self.queue("registration.create", &registration_id, &payload);
        (person_id, registration_id, registration.dwelling)
    }

    /// Queues a permit application for a person just registered.
    fn accept(&mut self, person_id: &str, registration_id: &str, dwelling: Dwelling) {
        self.permits.push(HeldPermit {
            id: uuid::Uuid::now_v7().to_string(),
            version: 0,
            stage: Stage::Accepted,
        });
        let event = PermitEvent::Accept {
            person_id: person_id.to_owned(),
            registration_id: registration_id.to_owned(),
            dwelling,
        };
        self.permit_event(self.permits.len() - 1, event);
    }

    /// Queues `event` on permit `i` (as the core does: the phone's own state moves at once).
    fn permit_event(&mut self, i: usize, event: PermitEvent) {
        let permit = &mut self.permits[i];
        let base_version = permit.version;
        permit.version += 1;
        permit.stage = match &event {
            PermitEvent::Accept { .. } => Stage::Accepted,
            PermitEvent::Issue { .. } => Stage::Issued,
            PermitEvent::Cancel { .. } => Stage::Cancelled,
            _ => Stage::Delivered,
        };
        let id = permit.id.clone();
        let payload = PermitEventOperation {
            permit_id: &id,
            base_version,
            version: base_version + 1,
            occurred_on: self.today,
            event: &event,
        };
        self.queue("permit.event", &id, &payload);
    }

    fn queue(&mut self, kind: &str, record_id: &str, payload: &impl Serialize) {
        let payload = serde_json::to_string(payload).expect("json");
        self.outbox.push(PushOperation {
            op_id: uuid::Uuid::now_v7().to_string(),
            kind: kind.to_owned(),
            record_id: record_id.to_owned(),
            payload_sha256: hex(&lgt_core::crypto::sha256(payload.as_bytes())),
            payload,
        });
    }

    /// One sync as the engine runs it: push, refill the numbers, pull until quiet. A failed
    /// step ends the sync (what was not acknowledged is sent again next time).
    async fn sync(&mut self) {
        self.tally.syncs += 1;
        if !self.push().await || !self.refill_numbers().await {
            return;
        }
        self.pull().await;
    }

    /// Pushes the outbox in batches; false when a request failed.
    async fn push(&mut self) -> bool {
        while !self.outbox.is_empty() {
            let batch: Vec<PushOperation> = self.outbox.iter().take(PUSH_BATCH).cloned().collect();
            let request = PushRequest {
                operations: batch.clone(),
            };
            let Some(answer) = self
                .signed::<_, PushResponse>("push", paths::PUSH, &request)
                .await
            else {
                return false;
            };
            for (op, result) in batch.iter().zip(&answer.results) {
                self.tally.settle(op, result);
            }
            self.outbox.drain(..batch.len());
        }
        true
    }

    async fn refill_numbers(&mut self) -> bool {
        let Some(answer) = self
            .signed::<_, NumbersResponse>("numbers", paths::NUMBERS, &NumbersRequest {})
            .await
        else {
            return false;
        };
        self.numbers = answer.numbers.into_iter().map(|n| n.number).collect();
        true
    }

    /// Pulls every bucket from its cursor until no page says more follows.
    async fn pull(&mut self) {
        loop {
            let request = PullRequest {
                cursors: self
                    .cursors
                    .iter()
                    .map(|(bucket, cursor)| BucketCursor {
                        bucket: *bucket,
                        cursor: *cursor,
                    })
                    .collect(),
                limit: PULL_LIMIT,
                queue: QueueHealth::default(),
            };
            let Some(answer) = self
                .signed::<_, PullResponse>("pull", paths::PULL, &request)
                .await
            else {
                return;
            };
            let mut more = false;
            for page in answer.buckets {
                self.tally.pulled += page.entries.len();
                self.cursors.insert(page.bucket, page.cursor);
                more |= page.has_more;
            }
            if !more {
                return;
            }
        }
    }

    /// A signed request, timed under `kind`; `None` (the error tallied) when it failed.
    async fn signed<Req: Serialize, Resp: serde::de::DeserializeOwned>(
        &mut self,
        kind: &'static str,
        path: &str,
        body: &Req,
    ) -> Option<Resp> {
        let started = Instant::now();
        let result: Result<Resp, SyncError> =
            self.client.signed(&self.credentials, path, body).await;
        self.tally.latency(kind, started.elapsed());
        result
            .map_err(|e| self.tally.error(format!("{kind}: {e}")))
            .ok()
    }
}

/// What the phones saw, merged at the end.
#[derive(Default)]
struct Tally {
    /// Latencies in microseconds, by request kind.
    latencies: HashMap<&'static str, Vec<u64>>,
    /// Failed requests and refused operations, by what was said.
    errors: BTreeMap<String, usize>,
    /// Operations acknowledged, by kind (`permit.accept` for a permit's first event).
    acknowledged: BTreeMap<&'static str, usize>,
    /// Outcomes: applied, conflict, rejected, hash mismatch; duplicate (acknowledged before).
    outcomes: BTreeMap<&'static str, usize>,
    syncs: usize,
    pulled: usize,
    /// Operations still unacknowledged when the phone stopped.
    unsent: usize,
}

impl Tally {
    fn latency(&mut self, kind: &'static str, took: Duration) {
        self.latencies
            .entry(kind)
            .or_default()
            .push(took.as_micros() as u64);
    }

    fn error(&mut self, what: String) {
        *self.errors.entry(what).or_default() += 1;
    }

    fn settle(&mut self, op: &PushOperation, result: &OperationResult) {
        let (outcome, fresh) = match result {
            OperationResult::New { outcome, .. } => (outcome, true),
            OperationResult::Duplicate { outcome, .. } => (outcome, false),
            OperationResult::HashMismatch { .. } => {
                self.error(format!("{}: hash mismatch", op.kind));
                return;
            }
        };
        let name = match outcome {
            Outcome::Applied => "applied",
            Outcome::Conflict { reason, .. } => {
                self.error(format!("{}: conflict: {reason}", op.kind));
                "conflict"
            }
            Outcome::Rejected { reason } => {
                self.error(format!("{}: rejected: {reason}", op.kind));
                "rejected"
            }
        };
        *self.outcomes.entry(name).or_default() += 1;
        if !fresh {
            *self.outcomes.entry("duplicate").or_default() += 1;
        }
        let kind = match op.kind.as_str() {
            "registration.create" => "registration.create",
            _ if op.payload.contains("\"base_version\":0,") => "permit.accept",
            _ => "permit.event (later)",
        };
        if matches!(outcome, Outcome::Applied) {
            *self.acknowledged.entry(kind).or_default() += 1;
        }
        *self.acknowledged.entry("all").or_default() += 1;
    }

    fn merge(&mut self, other: Tally) {
        for (kind, mut values) in other.latencies {
            self.latencies.entry(kind).or_default().append(&mut values);
        }
        for (what, n) in other.errors {
            *self.errors.entry(what).or_default() += n;
        }
        for (kind, n) in other.acknowledged {
            *self.acknowledged.entry(kind).or_default() += n;
        }
        for (name, n) in other.outcomes {
            *self.outcomes.entry(name).or_default() += n;
        }
        self.syncs += other.syncs;
        self.pulled += other.pulled;
        self.unsent += other.unsent;
    }

    fn acknowledged(&self, kind: &str) -> usize {
        self.acknowledged.get(kind).copied().unwrap_or(0)
    }

    fn errors_of(&self, kind: &str) -> usize {
        let prefix = format!("{kind}: ");
        self.errors
            .iter()
            .filter(|(what, _)| what.starts_with(&prefix))
            .map(|(_, n)| n)
            .sum()
    }
}

/// What the database holds at the end.
struct Stored {
    ledger: i64,
    registrations: i64,
    permits: i64,
}

impl Stored {
    async fn count(db: &Db) -> Self {
        let count = |table: &'static str| async move {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                .fetch_one(&db.pool)
                .await
                .expect("count")
        };
        Self {
            ledger: count("ledger").await,
            registrations: count("registrations").await,
            permits: count("permits").await,
        }
    }
}

/// The nearest-rank percentile `p` (0..=100) of sorted microseconds, in milliseconds.
fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

fn report(config: &Config, tally: &Tally, elapsed: Duration, cpu: &Cpu, rss: &[(u64, u64)]) {
    let seconds = elapsed.as_secs_f64();
    println!("\n| request | count | errors | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut requests = 0;
    for kind in ["enroll", "push", "numbers", "pull"] {
        let mut values = tally.latencies.get(kind).cloned().unwrap_or_default();
        values.sort_unstable();
        if kind != "enroll" {
            requests += values.len();
        }
        println!(
            "| {kind} | {} | {} | {:.1} | {:.1} | {:.1} |",
            values.len(),
            tally.errors_of(kind),
            percentile_ms(&values, 50.0),
            percentile_ms(&values, 99.0),
            percentile_ms(&values, 100.0),
        );
    }
    let all = tally.acknowledged("all");
    let rate = |n: usize| n as f64 / seconds;
    println!("\n| measurement | value |");
    println!("|---|---:|");
    println!(
        "| phones / server processes / districts | {} / 2 / {} |",
        config.phones, config.districts
    );
    println!("| field day (window + final push), s | {seconds:.1} |");
    println!(
        "| operations acknowledged (registrations / permit accepts / later permit events) | {all} ({} / {} / {}) |",
        tally.acknowledged("registration.create"),
        tally.acknowledged("permit.accept"),
        tally.acknowledged("permit.event (later)")
    );
    println!("| **operations per second** | **{:.0}** |", rate(all));
    println!(
        "| syncs per second / requests per second | {:.0} / {:.0} |",
        rate(tally.syncs),
        rate(requests)
    );
    println!("| entries pulled per second | {:.0} |", rate(tally.pulled));
    println!(
        "| outcomes | {} |",
        tally
            .outcomes
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "| errors (failed requests, refused operations) / left unsent | {} / {} |",
        tally.errors.values().sum::<usize>(),
        tally.unsent
    );
    for (i, ((now, peak), cpu_s)) in rss.iter().zip(&cpu.servers).enumerate() {
        println!(
            "| server {} RSS at end / peak, MiB; CPU s | {:.0} / {:.0}; {cpu_s:.1} |",
            i + 1,
            *now as f64 / 1024.0,
            *peak as f64 / 1024.0,
        );
    }
    let server_cpu: f64 = cpu.servers.iter().sum();
    println!(
        "| PostgreSQL backends of this database ({}), CPU s | {:.1} |",
        cpu.postgres.len(),
        cpu.postgres_total()
    );
    println!(
        "| server + PostgreSQL CPU ms per operation acknowledged | {:.2} |",
        1000.0 * (server_cpu + cpu.postgres_total()) / all.max(1) as f64
    );
    println!(
        "| load generator CPU s; machine busy (all processes, 2 cores) | {:.1}; {:.0}% |",
        cpu.generator,
        100.0 * cpu.machine_busy / cpu.machine_total.max(1.0)
    );
    println!("| machine load average at end | {} |", load_average());
    for (what, n) in &tally.errors {
        println!("error x{n}: {what}");
    }
}

/// Whether the database holds exactly what was acknowledged (one ledger row per operation,
/// one registration per registration applied, one permit per accept applied) and nothing was
/// left unsent; prints each count.
fn check_stored(tally: &Tally, stored: &Stored) -> bool {
    let expected = [
        ("ledger rows", stored.ledger, tally.acknowledged("all")),
        (
            "registrations",
            stored.registrations,
            tally.acknowledged("registration.create"),
        ),
        (
            "permits",
            stored.permits,
            tally.acknowledged("permit.accept"),
        ),
    ];
    let mut lost = false;
    for (what, held, acknowledged) in expected {
        let same = held == acknowledged as i64;
        lost |= !same;
        println!(
            "stored: {what} {held}, acknowledged {acknowledged}: {}",
            if same { "same" } else { "DIFFERENT" }
        );
    }
    !lost && tally.unsent == 0
}
