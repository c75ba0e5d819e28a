//! `lgt demo`: the coordinator's day end to end, on this machine alone.
//!
//! It starts the real sync server (`lgt_server`) in this process on a loopback port, over
//! HTTPS with a pinned key and a SQLite database in a temporary folder; enrolls a fresh
//! encrypted store as a device; has a supervisor publish a signed watchlist; scans a rendered
//! ID-document barcode and door-plate QR code into a registration; registers a listed person
//! (the watchlist alert); issues a permit and verifies its signed QR code; cancels it; syncs;
//! shows what the server holds; verifies the audit chain; and wipes. Each step prints one line
//! (Chinese by default, English on request), a spinner shows on a terminal while a step takes
//! over a second, and a table sums up the steps at the end.
//!
//! Everything it touches is synthetic and temporary: the people come from
//! [`SyntheticPeople`], and the output names records by id and shows numbers masked, never a
//! personal value. The store is wiped (key first) and the server stopped on every path, a
//! failed step included; any failed step makes the command exit non-zero.

use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use lgt_core::clock::Clock;
use lgt_core::crypto::{KeyFile, PublicKey};
use lgt_core::outbox::OperationState;
use lgt_core::permit::{PermitCommand, PermitEvent};
use lgt_core::registration::RegistrationInput;
use lgt_core::scan::{render_qr, write_png, Mode, Payload, PermitVerdict, ScanOptions, Scanner};
use lgt_core::store::StoreOptions;
use lgt_core::sync::ServerPin;
use lgt_core::synthetic::SyntheticPeople;
use lgt_core::watchlist::WatchlistPolicy;
use lgt_core::{FieldCore, Lang, OpenParams};
use tempfile::TempDir;
use unicode_width::UnicodeWidthStr as _;

/// The district the demo's device is enrolled in (a real district code; the data is not).
const DISTRICT: &str = "110105";

/// Cancellation reason 3 of the code table: left the area (迁出本地).
const CANCEL_REASON: &str = "3";

/// A step running longer than this gets a spinner (on a terminal).
const SPINNER_AFTER: Duration = Duration::from_secs(1);

/// The steps, in order: their titles in Chinese and in English.
const STEPS: [(&str, &str); 11] = [
    ("启动同步服务器", "Start the sync server"),
    ("设备入网", "Enroll the device"),
    ("下发监控名单", "Publish the watchlist"),
    ("扫码登记", "Scan and register"),
    ("名单比对提示", "Watchlist alert"),
    ("签发居住证", "Issue a permit"),
    ("注销居住证", "Cancel the permit"),
    ("同步", "Sync"),
    ("服务器数据", "What the server holds"),
    ("审计链校验", "Verify the audit chain"),
    ("擦除", "Wipe"),
];

/// Picks the Chinese or the English text: `say!(lang, "中文 {x}", "English {x}")`.
macro_rules! say {
    ($lang:expr, $zh:literal, $en:literal $(,)?) => {
        match $lang {
            Lang::ZhCn => format!($zh),
            Lang::En => format!($en),
        }
    };
}

/// Runs the demo; `Err` (after the summary) if any step failed.
pub fn run(clock: Arc<dyn Clock>, actor: &str, lang: Lang) -> Result<()> {
    let started = Instant::now();
    let mut day = Day::new(clock, actor, lang)?;
    let mut report = Report::new(lang);
    report.step(0, || day.start_server());
    report.step(1, || day.enroll());
    report.step(2, || day.publish_watchlist());
    report.step(3, || day.scan_and_register());
    report.step(4, || day.register_listed());
    report.step(5, || day.issue_permit());
    report.step(6, || day.cancel_permit());
    report.step(7, || day.sync());
    report.step(8, || day.server_holdings());
    report.step(9, || day.verify_audit());
    // Whatever happened before, the store is wiped and the server stopped.
    report.always(10, || day.wipe());
    report.summary(started.elapsed());
    match report.failed() {
        0 => Ok(()),
        n => bail!(say!(lang, "演示有 {n} 步失败", "{n} demo step(s) failed")),
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    /// Not run: an earlier step failed.
    Skipped,
}

/// The steps run so far: prints each one's line and, at the end, the table.
struct Report {
    lang: Lang,
    rows: Vec<(usize, Outcome, Duration)>,
}

impl Report {
    fn new(lang: Lang) -> Self {
        Self {
            lang,
            rows: Vec::new(),
        }
    }

    fn failed(&self) -> usize {
        self.rows
            .iter()
            .filter(|(_, outcome, _)| *outcome == Outcome::Failed)
            .count()
    }

    fn title(&self, index: usize) -> &'static str {
        let (zh, en) = STEPS[index];
        match self.lang {
            Lang::ZhCn => zh,
            Lang::En => en,
        }
    }

    /// Runs step `index` unless an earlier one failed.
    fn step(&mut self, index: usize, work: impl FnOnce() -> Result<String>) {
        if self.failed() > 0 {
            let lang = self.lang;
            self.line(
                index,
                &say!(
                    lang,
                    "跳过（前面的步骤失败）",
                    "skipped (an earlier step failed)"
                ),
            );
            self.rows.push((index, Outcome::Skipped, Duration::ZERO));
            return;
        }
        self.always(index, work);
    }

    /// Runs step `index` whatever happened before.
    fn always(&mut self, index: usize, work: impl FnOnce() -> Result<String>) {
        let started = Instant::now();
        let result = with_spinner(self.title(index), work);
        let elapsed = started.elapsed();
        let lang = self.lang;
        match result {
            Ok(detail) => {
                self.line(index, &detail);
                self.rows.push((index, Outcome::Passed, elapsed));
            }
            Err(error) => {
                let error = format!("{error:#}").replace('\n', " ");
                self.line(index, &say!(lang, "失败：{error}", "FAILED: {error}"));
                self.rows.push((index, Outcome::Failed, elapsed));
            }
        }
    }

    fn line(&self, index: usize, detail: &str) {
        let separator = match self.lang {
            Lang::ZhCn => "：",
            Lang::En => ": ",
        };
        println!("{:>2}. {}{separator}{detail}", index + 1, self.title(index));
    }

    /// The table: one row per step (number, title, result, time), then the totals.
    fn summary(&self, total: Duration) {
        let lang = self.lang;
        let header = [
            say!(lang, "步骤", "Step"),
            say!(lang, "结果", "Result"),
            say!(lang, "用时", "Time"),
        ];
        let rows: Vec<[String; 3]> = self
            .rows
            .iter()
            .map(|&(index, outcome, elapsed)| {
                let result = match outcome {
                    Outcome::Passed => say!(lang, "成功", "ok"),
                    Outcome::Failed => say!(lang, "失败", "FAILED"),
                    Outcome::Skipped => say!(lang, "跳过", "skipped"),
                };
                let time = match outcome {
                    Outcome::Skipped => "-".to_owned(),
                    _ => format!("{:.2} s", elapsed.as_secs_f64()),
                };
                [
                    format!("{:>2}. {}", index + 1, self.title(index)),
                    result,
                    time,
                ]
            })
            .collect();
        let width = |column: usize| {
            rows.iter()
                .map(|row| row[column].width())
                .chain([header[column].width()])
                .max()
                .unwrap_or(0)
        };
        let widths = [width(0), width(1), width(2)];
        let pad = |text: &str, column: usize| {
            let fill = widths[column].saturating_sub(text.width());
            format!("{text}{}", " ".repeat(fill))
        };
        println!();
        println!(
            "{}  {}  {}",
            pad(&header[0], 0),
            pad(&header[1], 1),
            header[2]
        );
        println!("{}", "-".repeat(widths[0] + widths[1] + widths[2] + 4));
        for row in &rows {
            println!("{}  {}  {}", pad(&row[0], 0), pad(&row[1], 1), row[2]);
        }
        let count = |wanted: Outcome| self.rows.iter().filter(|r| r.1 == wanted).count();
        let (passed, failed, skipped) = (
            count(Outcome::Passed),
            count(Outcome::Failed),
            count(Outcome::Skipped),
        );
        let (steps, seconds) = (self.rows.len(), total.as_secs_f64());
        println!(
            "{}",
            say!(
                lang,
                "共 {steps} 步：{passed} 成功，{failed} 失败，{skipped} 跳过；总用时 {seconds:.1} s",
                "{steps} steps: {passed} passed, {failed} failed, {skipped} skipped; {seconds:.1} s in all",
            )
        );
    }
}

/// Runs `work`; if it is still running after [`SPINNER_AFTER`] and stderr is a terminal, a
/// spinner with the step's title and the elapsed time shows until it ends, then is cleared.
fn with_spinner<T>(title: &str, work: impl FnOnce() -> T) -> T {
    if !std::io::stderr().is_terminal() {
        return work();
    }
    let (done, finished) = mpsc::channel::<()>();
    let title = title.to_owned();
    let painter = std::thread::spawn(move || {
        if finished.recv_timeout(SPINNER_AFTER) != Err(RecvTimeoutError::Timeout) {
            return;
        }
        let spinner = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
            spinner.set_style(style);
        }
        spinner.set_message(title);
        spinner.enable_steady_tick(Duration::from_millis(100));
        let _ = finished.recv();
        spinner.finish_and_clear();
    });
    let out = work();
    drop(done);
    let _ = painter.join();
    out
}

/// The server, running on a runtime of its own until stopped.
struct DemoServer {
    url: String,
    pin: ServerPin,
    db: lgt_server::Db,
    runtime: tokio::runtime::Runtime,
    shutdown: tokio::sync::oneshot::Sender<()>,
}

impl DemoServer {
    /// Starts the server on 127.0.0.1 (a port the OS picks), with the SQLite database and a
    /// fresh self-signed TLS identity in `data`.
    fn start(data: &Path) -> Result<Self> {
        let identity = lgt_server::TlsIdentity::in_data_dir(data)?;
        let pin = identity.pin();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("lgt-demo-server")
            .enable_all()
            .build()?;
        let db = runtime.block_on(lgt_server::Db::open(data, None))?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let url = format!("https://{}", listener.local_addr()?);
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(lgt_server::serve(
            listener,
            db.clone(),
            Some(identity),
            async {
                let _ = stop.await;
            },
        ));
        Ok(Self {
            url,
            pin,
            db,
            runtime,
            shutdown,
        })
    }

    /// Runs a server-side (supervisor) call.
    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Stops serving and ends the runtime's threads.
    fn stop(self) {
        let _ = self.shutdown.send(());
        self.runtime.shutdown_timeout(Duration::from_secs(5));
    }
}

/// The watchlist publisher's side, in one function so that its import path is one line to
/// change when the publisher moves out of lgt-core: a root key (the phone pins its public
/// half) delegates to a signing key, which signs a snapshot naming `listed` at the field
/// stretching cost. Returns the root's public key and the package bytes.
fn build_watchlist(
    listed: &[(String, RegistrationInput)],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(PublicKey, Vec<u8>)> {
    use lgt_core::crypto::{SigningKey, StretchParams};
    use lgt_publisher::{Epoch, ListedPerson, PublishedList, Signer, Validity};

    let root = SigningKey::generate()?;
    let signer = Signer::delegate(
        &root,
        SigningKey::generate()?,
        now + chrono::Duration::days(30),
    )
    .map_err(lgt_core::Error::from)?;
    let persons = listed
        .iter()
        .map(|(entry_ref, input)| {
            Ok(ListedPerson {
                entry_ref: entry_ref.clone(),
                name: input.person.name.clone(),
                sex: input.person.sex.clone(),
                birth_date: chrono::NaiveDate::parse_from_str(
                    input.person.birth_date.as_deref().unwrap_or_default(),
                    "%Y-%m-%d",
                )?,
                id_numbers: vec![input.document.number.clone()],
                case_summary: "synthetic demonstration case".into(),
                instructions: "do not confront; call the duty officer".into(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let epoch = Epoch::new(1, StretchParams::FIELD).map_err(lgt_core::Error::from)?;
    let validity = Validity {
        created_at: now - chrono::Duration::hours(1),
        expires_at: now + chrono::Duration::days(7),
    };
    let (_, package) = PublishedList::snapshot("demo", 1, epoch, &persons, validity, &signer)
        .map_err(lgt_core::Error::from)?;
    Ok((root.public_key(), package.to_bytes()))
}

/// Masks a number for display: its first three and last four characters, stars between.
fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let (head, tail) = (&chars[..3], &chars[chars.len() - 4..]);
    format!(
        "{}{}{}",
        head.iter().collect::<String>(),
        "*".repeat(chars.len() - 7),
        tail.iter().collect::<String>()
    )
}

/// Percent-encodes a URL query value (every byte but ASCII letters and digits).
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The day's state, filled in step by step.
struct Day {
    lang: Lang,
    clock: Arc<dyn Clock>,
    actor: String,
    /// Everything on disk: `server/` (database, TLS key), `phone/` (store and key file) and
    /// `images/` (the rendered codes). Removed at the end.
    dir: Option<TempDir>,
    server: Option<DemoServer>,
    keys: Option<KeyFile>,
    core: Option<FieldCore>,
    scanner: Scanner,
    /// The person scanned at the door (not listed) and the one the list names.
    resident: RegistrationInput,
    wanted: RegistrationInput,
    /// The scanned resident's person id once registered.
    person_id: Option<String>,
    /// The alert the listed person raised.
    alert_id: Option<String>,
    /// The permit's id and its signed QR image.
    permit: Option<(String, std::path::PathBuf)>,
}

impl Day {
    fn new(clock: Arc<dyn Clock>, actor: &str, lang: Lang) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("lgt-demo-")
            .tempdir()
            .context("cannot create a temporary folder")?;
        let mut people = SyntheticPeople::new(2026, clock.today());
        let resident = people.next_registration();
        let wanted = people.next_registration();
        Ok(Self {
            lang,
            clock,
            actor: actor.to_owned(),
            dir: Some(dir),
            server: None,
            keys: None,
            core: None,
            scanner: Scanner::new(),
            resident,
            wanted,
            person_id: None,
            alert_id: None,
            permit: None,
        })
    }

    fn path(&self, name: &str) -> Result<std::path::PathBuf> {
        let dir = self.dir.as_ref().context("the temporary folder is gone")?;
        Ok(dir.path().join(name))
    }

    fn core(&self) -> Result<&FieldCore> {
        self.core.as_ref().context("no store")
    }

    fn server(&self) -> Result<&DemoServer> {
        self.server.as_ref().context("no server")
    }

    /// Scans an image file through the core (decode, interpret, watchlist, permit check).
    fn scan(&mut self, path: &Path) -> Result<lgt_core::scan::ScanResult> {
        let core = self.core.as_ref().context("no store")?;
        core.scan_file(&mut self.scanner, path, &ScanOptions::new(Mode::Still))?
            .ok_or_else(|| anyhow!("no code found in {}", path.display()))
    }

    /// Renders `text` as a QR code into `images/NAME.png`.
    fn render(&self, text: &str, name: &str) -> Result<std::path::PathBuf> {
        let images = self.path("images")?;
        std::fs::create_dir_all(&images)?;
        let path = images.join(format!("{name}.png"));
        let image = render_qr(text, 6).map_err(lgt_core::Error::from)?;
        write_png(&path, image.size, image.size, &image.pixels).map_err(lgt_core::Error::from)?;
        Ok(path)
    }

    fn start_server(&mut self) -> Result<String> {
        let server = DemoServer::start(&self.path("server")?)?;
        let (url, pin) = (server.url.clone(), server.pin.to_string());
        let pin = pin.get(..19).unwrap_or(&pin);
        self.server = Some(server);
        Ok(say!(
            self.lang,
            "lgt-server 在 {url} 运行（本进程内，SQLite 临时库，自签名 TLS 密钥指纹 {pin}…）",
            "lgt-server runs at {url} (in this process, SQLite in a temporary folder, self-signed TLS key {pin}...)",
        ))
    }

    fn enroll(&mut self) -> Result<String> {
        let phone = self.path("phone")?;
        lgt_core::store::create_private_dir(&phone)?;
        let keys = KeyFile::create(phone.join("store.key"))?;
        let core = FieldCore::create(OpenParams {
            dir: &phone.join("store"),
            keys: &keys,
            actor: &self.actor,
            clock: self.clock.clone(),
            options: StoreOptions::default(),
        })?;
        self.keys = Some(keys);
        let server = self.server()?;
        // The supervisor's side: a one-time code (1 h to use it; 72 h offline limit).
        let code = server.block_on(lgt_server::admin::create_enrollment_code(
            &server.db,
            &self.actor,
            DISTRICT,
            3600,
            72 * 3600,
        ))?;
        let enrollment = core.sync_enroll(&server.url, &[server.pin], &code.code)?;
        let store = core.store_id().to_owned();
        self.core = Some(core);
        let (device, district) = (enrollment.device_id, enrollment.district);
        Ok(say!(
            self.lang,
            "新建加密存储 {store}，凭一次性入网码注册为设备 {device}（辖区 {district}），只认固定的服务器密钥",
            "a new encrypted store {store} enrolled as device {device} (district {district}) with a one-time code, trusting only the pinned server key",
        ))
    }

    fn publish_watchlist(&mut self) -> Result<String> {
        let now = self.clock.now();
        let (root, package) = build_watchlist(&[("DEMO-CASE-1".into(), self.wanted.clone())], now)?;
        let server = self.server()?;
        let published = server.block_on(lgt_server::watchlist::publish(&server.db, &package))?;
        let core = self.core()?;
        core.sync_pin_watchlist(&WatchlistPolicy::new(vec![root]))?;
        let report = core.sync_now()?;
        ensure!(
            report.watchlist_refused.is_empty(),
            "watchlist refused: {}",
            report.watchlist_refused.join(", ")
        );
        let info = report
            .watchlist_imported
            .first()
            .context("the phone imported no watchlist")?;
        let (version, tags, bytes) = (info.version, info.entry_count, package.len());
        let seq = published.seq;
        Ok(say!(
            self.lang,
            "主管签发名单 v{version}（1 人，{tags} 条以现场强度 Argon2id 拉伸的标签，{bytes} 字节），经服务器分发（序号 {seq}）；手机同步后用固定根公钥验签并导入",
            "a supervisor signs list v{version} (1 person, {tags} tags stretched with Argon2id at field cost, {bytes} bytes); the server carries it (seq {seq}); the phone syncs, verifies it against its pinned root and imports it",
        ))
    }

    fn scan_and_register(&mut self) -> Result<String> {
        // The ID document's barcode carries the identity number; the door plate's QR code
        // the standard-address code and the address, as city platforms print them.
        let id_image = self.render(&self.resident.document.number, "id-document")?;
        let plate = format!(
            "https://dz.example.invalid/mp?mpbm={}&dz={}",
            percent_encode(&self.resident.dwelling.house_code),
            percent_encode(&self.resident.dwelling.address)
        );
        let plate_image = self.render(&plate, "door-plate")?;

        let id_scan = self.scan(&id_image)?;
        let Payload::IdNumber(parsed) = &id_scan.payload else {
            bail!("the ID document's code read as {}", id_scan.payload.kind());
        };
        let number = parsed
            .as_ref()
            .map_err(|e| anyhow!("the scanned identity number is invalid: {}", e.code()))?
            .as_str()
            .to_owned();
        let clear = id_scan
            .watchlist
            .as_ref()
            .is_some_and(|check| check.alerts.is_empty());
        let plate_scan = self.scan(&plate_image)?;
        let Payload::DoorPlate(door) = &plate_scan.payload else {
            bail!(
                "the door plate's code read as {}",
                plate_scan.payload.kind()
            );
        };

        // The form: what the coordinator types (synthetic), with the scanned number and
        // dwelling.
        let mut input = self.resident.clone();
        input.document.doc_type = "1".into();
        input.document.number = number.clone();
        input.dwelling.house_code = door.house_code.clone();
        if let Some(address) = &door.address {
            input.dwelling.address = address.clone();
        }
        let receipt = self.core()?.register(&input)?;
        ensure!(
            receipt.alerts.is_empty(),
            "an unlisted person raised an alert"
        );
        let (masked, plate) = (mask(&number), mask(&door.house_code));
        let (person, registration) = (receipt.person_id.clone(), receipt.registration_id);
        self.person_id = Some(receipt.person_id);
        let check = match (self.lang, clear) {
            (Lang::ZhCn, true) => "名单比对无匹配",
            (Lang::ZhCn, false) => "名单未比对",
            (Lang::En, true) => "no watchlist match",
            (Lang::En, false) => "no watchlist check",
        };
        Ok(say!(
            self.lang,
            "扫描证件条码（身份证号 {masked}，校验通过，{check}）与门牌二维码（门牌编码 {plate}），登记人员 {person}，登记 {registration}",
            "scanned the ID document's code (identity number {masked}, checksum valid, {check}) and the door plate's QR code (house code {plate}); registered person {person}, registration {registration}",
        ))
    }

    fn register_listed(&mut self) -> Result<String> {
        let core = self.core()?;
        let receipt = core.register(&self.wanted)?;
        let alert = receipt
            .alerts
            .first()
            .context("the listed person raised no alert")?;
        let queued = core
            .outbox(Some(OperationState::Pending))?
            .iter()
            .any(|op| op.kind == "watchlist.hit" && op.record_id == alert.alert_id);
        ensure!(queued, "the alert's report was not queued for the server");
        let (alert_id, person, score, version) = (
            alert.alert_id.clone(),
            receipt.person_id.clone(),
            alert.score,
            alert.list_version,
        );
        self.alert_id = Some(alert_id.clone());
        Ok(say!(
            self.lang,
            "登记人员 {person} 时提示“可能匹配，请核实”（告警 {alert_id}，名单 v{version}，匹配度 {score}）；已记入审计，上报已排队（不显示个人信息）",
            "registering person {person} raised \"possible match: verify\" (alert {alert_id}, list v{version}, score {score}); audited, its report queued for the server (no personal values shown)",
        ))
    }

    fn issue_permit(&mut self) -> Result<String> {
        let core = self.core()?;
        let person_id = self.person_id.clone().context("no registered person")?;
        let accepted = core.permit(&PermitCommand::Accept { person_id })?;
        let permit_id = accepted.permit.id.clone();
        let from_pool = core.permit_number_from_pool()?;
        let pooled = from_pool.is_some();
        let number =
            from_pool.unwrap_or_else(|| format!("DEMO{}", self.clock.today().format("%Y%m%d")));
        for event in [
            PermitEvent::Issue {
                number: number.clone(),
            },
            PermitEvent::Deliver,
        ] {
            core.permit(&PermitCommand::Apply {
                permit_id: permit_id.clone(),
                base_version: None,
                event,
            })?;
        }
        let text = core.permit_qr(&permit_id)?;
        let image = self.render(&text, "permit")?;
        let verdict = self
            .scan(&image)?
            .permit
            .context("the permit's QR code read as something else")?
            .verdict;
        ensure!(
            verdict == PermitVerdict::Valid,
            "the permit's QR code verified as {verdict:?}"
        );
        let masked = mask(&number);
        let source = match (self.lang, pooled) {
            (Lang::ZhCn, true) => "服务器预留号段",
            (Lang::ZhCn, false) => "演示编号",
            (Lang::En, true) => "reserved by the server",
            (Lang::En, false) => "a demo number",
        };
        let id = permit_id.clone();
        self.permit = Some((permit_id, image));
        Ok(say!(
            self.lang,
            "受理、签发（编号 {masked}，{source}）并发放居住证 {id}；生成签名二维码，扫描验证：有效",
            "accepted, issued (number {masked}, {source}) and delivered permit {id}; its signed QR code rendered, scanned and verified: valid",
        ))
    }

    fn cancel_permit(&mut self) -> Result<String> {
        let (permit_id, image) = self.permit.clone().context("no permit")?;
        let cancelled = self.core()?.permit(&PermitCommand::Apply {
            permit_id: permit_id.clone(),
            base_version: None,
            event: PermitEvent::Cancel {
                reason: CANCEL_REASON.into(),
            },
        })?;
        let verdict = self
            .scan(&image)?
            .permit
            .context("the permit's QR code read as something else")?
            .verdict;
        ensure!(
            verdict == PermitVerdict::Cancelled,
            "the cancelled permit's QR code verified as {verdict:?}"
        );
        let entry = lgt_core::codes::table(lgt_core::codes::CodeTableId::CancellationReason)
            .get(CANCEL_REASON)
            .context("no such cancellation reason")?;
        let (version, zh, en) = (cancelled.permit.version, &entry.zh, &entry.en);
        Ok(say!(
            self.lang,
            "居住证 {permit_id} 注销（原因 {CANCEL_REASON}：{zh}，版本 {version}）；再扫其二维码：签名真实，但已注销",
            "permit {permit_id} cancelled (reason {CANCEL_REASON}: {en}, version {version}); its QR code scanned again: genuine, but cancelled",
        ))
    }

    fn sync(&mut self) -> Result<String> {
        let core = self.core()?;
        let queued = core.sync_status()?.queue_depth;
        let report = core.sync_now()?;
        ensure!(
            report.conflicts == 0 && report.quarantined == 0,
            "{} conflicts, {} quarantined",
            report.conflicts,
            report.quarantined
        );
        let left = core.sync_status()?.queue_depth;
        ensure!(left == 0, "{left} operations still queued");
        let (acknowledged, pulled) = (report.acknowledged, report.pulled);
        Ok(say!(
            self.lang,
            "上传 {queued} 项排队操作，服务器确认 {acknowledged} 项；拉取 {pulled} 条更新；队列已清空",
            "pushed {queued} queued operations, {acknowledged} acknowledged by the server; pulled {pulled} entries; the queue is empty",
        ))
    }

    fn server_holdings(&mut self) -> Result<String> {
        let server = self.server()?;
        let db = &server.db;
        let devices = server.block_on(lgt_server::admin::devices(db))?;
        let hits = server.block_on(lgt_server::watchlist::hits(db))?;
        let issuers = server.block_on(lgt_server::issuers::list(db))?;
        let device = devices.first().context("the server knows no device")?;
        let alert = self.alert_id.as_deref().unwrap_or_default();
        ensure!(
            hits.iter().any(|hit| hit.alert_id == alert),
            "the alert's report did not reach the server"
        );
        let (count, operations) = (devices.len(), device.operations);
        let anchored = device
            .audit_seq
            .map_or_else(|| "-".to_owned(), |seq| seq.to_string());
        let (hits, keys) = (hits.len(), issuers.len());
        Ok(say!(
            self.lang,
            "设备 {count} 台，已收操作 {operations} 项，名单命中上报 {hits} 条（告警 {alert}），签发密钥 {keys} 把，设备审计链锚定至第 {anchored} 条",
            "devices: {count}; operations received: {operations}; watchlist hit reports: {hits} (alert {alert}); permit-issuer keys: {keys}; the device's audit chain anchored at record {anchored}",
        ))
    }

    fn verify_audit(&mut self) -> Result<String> {
        let core = self.core()?;
        let report = core.audit_verify()?;
        ensure!(
            report.is_intact(),
            "the audit chain is broken at record {:?}",
            report.first_broken.as_ref().map(|b| b.seq)
        );
        let integrity = core.integrity_check()?;
        ensure!(
            integrity == "ok",
            "the store's integrity check: {integrity}"
        );
        let records = report.records;
        Ok(say!(
            self.lang,
            "{records} 条审计记录，哈希链完整；数据库完整性检查通过",
            "{records} audit records, the hash chain intact; the database integrity check passed",
        ))
    }

    /// Wipes the store (key first), stops the server and removes the temporary folder, as
    /// far as each exists; reports the first thing that could not be done.
    fn wipe(&mut self) -> Result<String> {
        let mut result = Ok(());
        if let (Some(core), Some(keys)) = (self.core.take(), self.keys.as_ref()) {
            result = core.wipe(keys).map_err(anyhow::Error::from);
        }
        if let Some(server) = self.server.take() {
            server.stop();
        }
        if let Some(dir) = self.dir.take() {
            let removed = dir.close().context("cannot remove the temporary folder");
            result = result.and(removed);
        }
        result?;
        Ok(say!(
            self.lang,
            "先销毁密钥再删除存储文件；服务器已停止，临时目录已删除",
            "key destroyed first, then the store's files; the server stopped, the temporary folder removed",
        ))
    }
}
