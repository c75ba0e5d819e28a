//! The supervisor console's security claims, each played by its attacker against a real server
//! (SQLite, and PostgreSQL when configured) over HTTP: a brute-forcer, a forged or replayed
//! CSRF token, a stolen cookie after logout, a replayed one-time code, another district's
//! supervisor. The pages themselves are driven by a real browser in `server/console-tests`.

use lgt_e2e::{backends, Phone, TestServer};
use lgt_server::console::{self, accounts, Role};
use serde_json::{json, Value};

const HOME: &str = "110105";
const AWAY: &str = "310104";
const PASSWORD: &str = "correct horse battery";

/// A browser-like client: the session cookie and CSRF token it got at login.
struct Client {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
    csrf: Option<String>,
}

struct Answer {
    status: u16,
    body: Value,
    set_cookie: Option<String>,
}

impl Client {
    fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookie: None,
            csrf: None,
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let request = match &self.cookie {
            Some(c) => request.header("cookie", format!("{}={c}", console::COOKIE)),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let set_cookie = response
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
            set_cookie,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// A JSON POST carrying `csrf` (the session's own unless told otherwise).
    async fn post_with(&self, path: &str, body: &Value, csrf: Option<&str>) -> Answer {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = csrf {
            request = request.header(console::CSRF_HEADER, token);
        }
        self.send(request).await
    }

    async fn post(&self, path: &str, body: &Value) -> Answer {
        self.post_with(path, body, self.csrf.as_deref()).await
    }

    async fn login(&mut self, username: &str, password: &str) -> Answer {
        let answer = self
            .post_with(
                "/console/api/login",
                &json!({"username": username, "password": password}),
                None,
            )
            .await;
        if answer.status == 200 {
            let cookie = answer.set_cookie.clone().unwrap();
            let token = cookie
                .split(';')
                .next()
                .and_then(|p| p.split_once('='))
                .map(|(_, v)| v.to_owned())
                .unwrap();
            self.cookie = Some(token);
            self.csrf = answer.body["csrf"].as_str().map(str::to_owned);
        }
        answer
    }
}

fn account(
    server: &TestServer,
    name: &str,
    role: Role,
    districts: &[&str],
) -> accounts::NewAccount {
    let districts: Vec<String> = districts.iter().map(|d| (*d).to_owned()).collect();
    server
        .block_on(console::create_account(
            &server.db, name, PASSWORD, role, &districts, false,
        ))
        .unwrap()
}

fn code(failures: &accounts::NewAccount, offset_steps: i64) -> String {
    let secret = console::totp::unbase32(&failures.totp_secret).unwrap();
    let step = chrono::Utc::now().timestamp() / console::totp::STEP_SECS + offset_steps;
    format!("{:06}", console::totp::code_at(&secret, step))
}

#[test]
fn passwords_are_argon2id_and_a_brute_forcer_is_locked_out() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let base = server.start_console();
        account(&server, "sup", Role::Supervisor, &[HOME]);
        let stored =
            server.rows("SELECT password_hash FROM console_accounts WHERE username = 'sup'");
        let hash = stored[0][0].clone().unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains(PASSWORD));
        server.block_on(async {
            let mut attacker = Client::new(&base);
            // An unknown name and a wrong password get the same answer.
            let unknown = attacker.login("nobody", "guess-guess-guess").await;
            assert_eq!(
                (unknown.status, unknown.body["code"].as_str()),
                (401, Some("console.login_refused"))
            );
            for attempt in 1..=accounts::MAX_FAILURES {
                let a = attacker
                    .login("sup", &format!("guess number {attempt}"))
                    .await;
                assert_eq!(a.status, 401);
                let expected = if attempt == accounts::MAX_FAILURES {
                    "console.locked"
                } else {
                    "console.login_refused"
                };
                assert_eq!(a.body["code"], expected, "attempt {attempt}");
            }
            // Locked: even the right password is refused now.
            let locked = attacker.login("sup", PASSWORD).await;
            assert_eq!(
                (locked.status, locked.body["code"].as_str()),
                (401, Some("console.locked")),
                "{backend:?}"
            );
            assert!(attacker.cookie.is_none());
        });
        // The lock runs out.
        server.block_on(async {
            sqlx::query("UPDATE console_accounts SET locked_until = 1 WHERE username = 'sup'")
                .execute(&server.db.pool)
                .await
                .unwrap();
            let mut owner = Client::new(&base);
            assert_eq!(owner.login("sup", PASSWORD).await.status, 200);
        });
    }
}

#[test]
fn the_session_cookie_is_secure_httponly_strict_and_stored_only_as_a_digest() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let base = server.start_console();
        account(&server, "sup", Role::Supervisor, &[HOME]);
        server.block_on(async {
            let mut client = Client::new(&base);
            let answer = client.login("sup", PASSWORD).await;
            let cookie = answer.set_cookie.unwrap();
            for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/console"] {
                assert!(
                    cookie.split("; ").any(|p| p == flag),
                    "{flag} missing: {cookie}"
                );
            }
            let token = client.cookie.clone().unwrap();
            let (held,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM console_sessions WHERE token_sha256 = $1 OR csrf = $1",
            )
            .bind(&token)
            .fetch_one(&server.db.pool)
            .await
            .unwrap();
            assert_eq!(held, 0, "the token itself is never stored");
            // A made-up cookie is no session.
            let mut forger = Client::new(&base);
            forger.cookie = Some("ab".repeat(32));
            assert_eq!(forger.get("/console/api/devices").await.status, 401);
            // A page without a session sends the browser to the login page.
            let page = Client::new(&base).get("/console/devices").await;
            assert_eq!(page.status, 303);
        });
    }
}

#[test]
fn a_forged_missing_or_replayed_csrf_token_is_refused() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let base = server.start_console();
        account(&server, "sup", Role::Supervisor, &[HOME]);
        account(&server, "other", Role::Supervisor, &[HOME]);
        server.block_on(async {
            let mut victim = Client::new(&base);
            victim.login("sup", PASSWORD).await;
            let mut attacker = Client::new(&base);
            attacker.login("other", PASSWORD).await;
            let issue = json!({"coordinator": "c-1", "district": HOME});
            let path = "/console/api/enrollment-codes";
            // A cross-site request rides on the victim's cookie but cannot know its token.
            let none = victim.post_with(path, &issue, None).await;
            assert_eq!(
                (none.status, none.body["code"].as_str()),
                (403, Some("console.csrf"))
            );
            let forged = victim.post_with(path, &issue, Some(&"0".repeat(64))).await;
            assert_eq!(forged.status, 403);
            // The attacker's own valid token does not fit the victim's session.
            let borrowed = victim
                .post_with(path, &issue, attacker.csrf.as_deref())
                .await;
            assert_eq!(borrowed.status, 403);
            // A form without the token is refused the same.
            let form = victim
                .send(
                    victim
                        .http
                        .post(format!("{base}{path}"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body("coordinator=c-1&district=110105"),
                )
                .await;
            assert_eq!(form.status, 403);
            let (codes,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM enrollment_codes")
                .fetch_one(&server.db.pool)
                .await
                .unwrap();
            assert_eq!(codes, 0, "{backend:?}");
            // With its token, the same request goes through.
            let ok = victim.post(path, &issue).await;
            assert_eq!(ok.status, 200, "{:?}", ok.body);
            assert!(ok.body["qr_svg"].as_str().unwrap().starts_with("<svg"));
            // After logout the cookie and token are dead: replaying them is refused.
            assert_eq!(
                victim.post("/console/api/logout", &json!({})).await.status,
                204
            );
            let replay = victim.post(path, &issue).await;
            assert_eq!(replay.status, 401);
        });
    }
}

#[test]
fn a_bulk_view_needs_a_fresh_second_factor_and_a_code_is_spent_once() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let base = server.start_console();
        let new = account(&server, "sup", Role::Supervisor, &[HOME]);
        server.block_on(async {
            let mut client = Client::new(&base);
            client.login("sup", PASSWORD).await;
            let bulk = format!("/console/api/persons?district={HOME}");
            let refused = client.get(&bulk).await;
            assert_eq!(
                (refused.status, refused.body["code"].as_str()),
                (403, Some("console.totp_required"))
            );
            let wrong = client
                .post("/console/api/totp", &json!({"code": code(&new, 20)}))
                .await;
            assert_eq!(wrong.status, 401, "a code far from now");
            let given = code(&new, 0);
            assert_eq!(
                client
                    .post("/console/api/totp", &json!({"code": given}))
                    .await
                    .status,
                200
            );
            assert_eq!(client.get(&bulk).await.status, 200);
            // Seen once, spent: replayed by someone who watched it typed, it is refused.
            let mut thief = Client::new(&base);
            thief.login("sup", PASSWORD).await;
            let replayed = thief
                .post("/console/api/totp", &json!({"code": given}))
                .await;
            assert_eq!(replayed.status, 401, "{backend:?}");
            assert_eq!(thief.get(&bulk).await.status, 403);
        });
    }
}

#[test]
fn a_supervisor_sees_and_touches_only_their_districts() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let base = server.start_console();
        account(&server, "home", Role::Supervisor, &[HOME]);
        account(&server, "admin", Role::Admin, &[]);
        // A phone of the other district registers a person and syncs.
        let mut away = Phone::new(41);
        away.enroll(&server.url, &server.enrollment_code("c-away", AWAY));
        let (input, receipt) = away.register_inputs(1).remove(0);
        away.sync_until_quiet(5);
        let away_device = server.rows("SELECT id FROM devices")[0][0].clone().unwrap();
        let number = input.document.number.clone();
        server.block_on(async {
            let mut home = Client::new(&base);
            home.login("home", PASSWORD).await;
            // Not listed, not revocable, not wipeable: refused as if it did not exist.
            let devices = home.get("/console/api/devices").await;
            assert_eq!(devices.body["devices"].as_array().unwrap().len(), 0);
            for action in ["revoke", "wipe"] {
                let a = home
                    .post(
                        &format!("/console/api/devices/{away_device}/{action}"),
                        &json!({}),
                    )
                    .await;
                assert_eq!(
                    (a.status, a.body["code"].as_str()),
                    (404, Some("console.not_found")),
                    "{action}"
                );
            }
            // No enrollment codes for another district.
            let code = home
                .post(
                    "/console/api/enrollment-codes",
                    &json!({"coordinator": "c-2", "district": AWAY}),
                )
                .await;
            assert_eq!(code.status, 403);
            // The other district's person: refused by district, and not found under their own.
            let theirs = home
                .post(
                    "/console/api/persons/search",
                    &json!({"district": AWAY, "id_number": number}),
                )
                .await;
            assert_eq!(
                (theirs.status, theirs.body["code"].as_str()),
                (403, Some("console.not_your_district"))
            );
            let mine = home
                .post(
                    "/console/api/persons/search",
                    &json!({"district": HOME, "id_number": number}),
                )
                .await;
            assert_eq!(mine.status, 404, "{:?}", mine.body);
            assert!(!mine.body.to_string().contains(&number));
            // An administrator finds them, and the view is in the audit trail (ids only).
            let mut admin = Client::new(&base);
            admin.login("admin", PASSWORD).await;
            let found = admin
                .post(
                    "/console/api/persons/search",
                    &json!({"district": AWAY, "id_number": number}),
                )
                .await;
            assert_eq!(found.status, 200, "{backend:?} {:?}", found.body);
            assert_eq!(found.body["person_id"], receipt.person_id.as_str());
            assert_eq!(
                admin.get("/console/api/devices").await.body["devices"]
                    .as_array()
                    .unwrap()
                    .len(),
                1
            );
        });
        let audit = server.rows(
            "SELECT username, action, district, record_id FROM console_audit ORDER BY at, id",
        );
        let lines: Vec<Vec<Option<String>>> = audit;
        assert!(
            lines.iter().any(|l| l[0].as_deref() == Some("admin")
                && l[1].as_deref() == Some("person.viewed")
                && l[3].as_deref() == Some(receipt.person_id.as_str())),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l[0].as_deref() == Some("home")
            && l[1].as_deref() == Some("person.refused_district")));
        let text = format!("{lines:?}");
        assert!(
            !text.contains(&number),
            "no identity number in the audit trail"
        );
    }
}

#[test]
fn a_conflict_is_resolved_only_by_its_districts_supervisor_and_reaches_the_phones() {
    use lgt_core::permit::PermitEvent;
    use lgt_core::registration::Dwelling;
    for backend in backends() {
        let server = TestServer::start(&backend);
        let base = server.start_console();
        account(&server, "home", Role::Supervisor, &[HOME]);
        account(&server, "away", Role::Supervisor, &[AWAY]);
        let mut first = Phone::new(51);
        let second = Phone::new(52);
        first.enroll(&server.url, &server.enrollment_code("c-1", HOME));
        second.enroll(&server.url, &server.enrollment_code("c-2", HOME));
        first.sync_until_quiet(5);
        let person = first.register(1).remove(0).person_id;
        let permit = first.issue(&person).permit;
        first.sync_until_quiet(5);
        second.sync_until_quiet(5);
        let moved = |house: &str| PermitEvent::ChangeAddress {
            dwelling: Dwelling {
                house_code: house.into(),
                address: "synthetic".into(),
                housing_type: "3".into(),
            },
        };
        first
            .apply(&permit.id, permit.version, moved("H-FIRST"))
            .unwrap();
        second
            .apply(&permit.id, permit.version, moved("H-SECOND"))
            .unwrap();
        first.sync_until_quiet(5);
        second.sync_until_quiet(5);
        let conflict_id = server.rows("SELECT id FROM conflicts")[0][0]
            .clone()
            .unwrap();
        server.block_on(async {
            let mut away = Client::new(&base);
            away.login("away", PASSWORD).await;
            assert_eq!(
                away.get("/console/api/conflicts").await.body["conflicts"]
                    .as_array()
                    .unwrap()
                    .len(),
                0
            );
            let path = format!("/console/api/conflicts/{conflict_id}/resolve");
            let refused = away
                .post(&path, &json!({"side": "phone", "note": "not mine"}))
                .await;
            assert_eq!(
                (refused.status, refused.body["code"].as_str()),
                (404, Some("console.not_found"))
            );
            let mut home = Client::new(&base);
            home.login("home", PASSWORD).await;
            let listed = home.get("/console/api/conflicts").await;
            let shown = &listed.body["conflicts"][0];
            assert!(shown["server"].to_string().contains("H-FIRST"), "{shown}");
            assert!(shown["phone"].to_string().contains("H-SECOND"), "{shown}");
            let bad = home
                .post(&path, &json!({"side": "neither", "note": "x"}))
                .await;
            assert_eq!(bad.status, 400);
            let resolved = home
                .post(
                    &path,
                    &json!({"side": "phone", "note": "confirmed on site"}),
                )
                .await;
            assert_eq!(resolved.status, 200, "{backend:?} {:?}", resolved.body);
            let again = home
                .post(&path, &json!({"side": "server", "note": "again"}))
                .await;
            assert_eq!(again.status, 409);
        });
        first.sync_until_quiet(5);
        second.sync_until_quiet(5);
        for phone in [&first, &second] {
            let shown = phone.core.permit_show(&permit.id).unwrap();
            assert_eq!(shown.permit.dwelling.house_code, "H-SECOND", "{backend:?}");
        }
    }
}

#[test]
fn a_registration_naming_two_persons_shows_both_and_a_merge_makes_them_one() {
    use lgt_core::registration::DocumentInput;
    use lgt_core::synthetic::SyntheticPeople;
    for backend in backends() {
        let server = TestServer::start(&backend);
        let base = server.start_console();
        account(&server, "home", Role::Supervisor, &[HOME]);
        let a = Phone::new(61);
        let b = Phone::new(62);
        a.enroll(&server.url, &server.enrollment_code("c-1", HOME));
        b.enroll(&server.url, &server.enrollment_code("c-2", HOME));
        let mut people = SyntheticPeople::new(62, chrono::Utc::now().date_naive());
        let on_b = people.next_registration();
        let on_a = people.next_registration();
        // B's person is registered and known to both; A registers someone under another
        // number; B, not synced since, adds that number to its person and registers them again.
        let y = b.core.register(&on_b).unwrap();
        b.sync_until_quiet(5);
        a.sync_until_quiet(5);
        let x = a.core.register(&on_a).unwrap();
        a.sync_until_quiet(5);
        let number: DocumentInput = on_a.document.clone();
        b.core.add_identifier(&y.person_id, &number).unwrap();
        let again = b
            .core
            .register(&lgt_core::registration::RegistrationInput {
                document: number,
                person: on_a.person.clone(),
                ..on_b.clone()
            })
            .unwrap();
        assert_eq!(again.person_id, y.person_id);
        b.sync_until_quiet(5);
        let conflict_id = server.rows("SELECT id FROM conflicts")[0][0]
            .clone()
            .unwrap();
        server.block_on(async {
            let mut home = Client::new(&base);
            home.login("home", PASSWORD).await;
            let listed = home.get("/console/api/conflicts").await;
            let shown = &listed.body["conflicts"][0]["server"];
            assert_eq!(
                shown["person_of_id"]["person_id"],
                json!(y.person_id),
                "{shown}"
            );
            assert_eq!(
                shown["holder_of_number"]["person_id"],
                json!(x.person_id),
                "{shown}"
            );
            let path = format!("/console/api/conflicts/{conflict_id}/resolve");
            let merged = home
                .post(&path, &json!({"side": "merge", "note": "one person"}))
                .await;
            assert_eq!(merged.status, 200, "{backend:?} {:?}", merged.body);
        });
        assert_eq!(
            server.rows("SELECT id FROM persons"),
            vec![vec![Some(x.person_id.clone())]],
            "{backend:?}"
        );
        b.sync_until_quiet(5);
        let found = b
            .core
            .find_by_document_number(&on_b.document.number)
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].person_id, x.person_id, "{backend:?}");
    }
}

#[test]
fn a_hit_is_mapped_to_its_entry_only_for_a_permitted_supervisor_of_its_district() {
    use base64::Engine as _;
    use chrono::{Duration, NaiveDate, Utc};
    use lgt_core::crypto::{SigningKey, StretchParams};
    use lgt_core::watchlist::WatchlistPolicy;
    use lgt_publisher::{Epoch, ListedPerson, PublishedList, Signer, Validity};
    for backend in backends() {
        let server = TestServer::start(&backend);
        let base = server.start_console();
        let with_watchlist = |name: &str, role: Role, districts: &[&str], watchlist: bool| {
            let districts: Vec<String> = districts.iter().map(|d| (*d).to_owned()).collect();
            server
                .block_on(console::create_account(
                    &server.db, name, PASSWORD, role, &districts, watchlist,
                ))
                .unwrap();
        };
        with_watchlist("admin", Role::Admin, &[], true);
        with_watchlist("allowed", Role::Supervisor, &[HOME], true);
        with_watchlist("plain", Role::Supervisor, &[HOME], false);
        with_watchlist("away", Role::Supervisor, &[AWAY], true);
        // A list of one synthetic person, with its entry map.
        let root = SigningKey::generate().unwrap();
        let signer = Signer::delegate(
            &root,
            SigningKey::generate().unwrap(),
            Utc::now() + Duration::days(30),
        )
        .unwrap();
        let mut people = lgt_core::synthetic::SyntheticPeople::new(61, Utc::now().date_naive());
        let wanted = people.next_registration();
        let listed = ListedPerson {
            entry_ref: "CASE-61".into(),
            name: wanted.person.name.clone(),
            sex: wanted.person.sex.clone(),
            birth_date: NaiveDate::parse_from_str(
                wanted.person.birth_date.as_deref().unwrap(),
                "%Y-%m-%d",
            )
            .unwrap(),
            id_numbers: vec![wanted.document.number.clone()],
            case_summary: "synthetic case".into(),
            instructions: "do not confront".into(),
        };
        let validity = Validity {
            created_at: Utc::now() - Duration::hours(1),
            expires_at: Utc::now() + Duration::days(7),
        };
        let (list, package) = PublishedList::snapshot(
            "wanted-console",
            1,
            Epoch::new(1, StretchParams::MINIMUM).unwrap(),
            std::slice::from_ref(&listed),
            validity,
            &signer,
        )
        .unwrap();
        let map: String = list
            .entry_map(std::slice::from_ref(&listed), Utc::now().date_naive())
            .unwrap()
            .into_iter()
            .map(|(tag, entry)| format!("{tag},{entry}\n"))
            .collect();
        assert!(!map.contains(&wanted.document.number) && !map.contains(&wanted.person.name));
        let publish = json!({
            "package": base64::engine::general_purpose::STANDARD.encode(package.to_bytes()),
            "entries": format!("tag,entry_ref\n{map}"),
        });
        server.block_on(async {
            let mut plain = Client::new(&base);
            plain.login("plain", PASSWORD).await;
            let refused = plain
                .post("/console/api/watchlist/packages", &publish)
                .await;
            assert_eq!(
                (refused.status, refused.body["code"].as_str()),
                (403, Some("console.admin_only"))
            );
            let mut admin = Client::new(&base);
            admin.login("admin", PASSWORD).await;
            let published = admin
                .post("/console/api/watchlist/packages", &publish)
                .await;
            assert_eq!(published.status, 200, "{:?}", published.body);
            assert!(published.body["entries_mapped"].as_u64().unwrap() >= 1);
        });
        // A phone of the district alerts on the listed person; its hit report comes back.
        let phone = Phone::new(62);
        phone.enroll(&server.url, &server.enrollment_code("c-1", HOME));
        phone
            .core
            .sync_pin_watchlist(&WatchlistPolicy {
                roots: vec![root.public_key()],
                min_stretch: StretchParams::MINIMUM,
            })
            .unwrap();
        phone.sync_until_quiet(5);
        assert_eq!(phone.core.register(&wanted).unwrap().alerts.len(), 1);
        phone.sync_until_quiet(5);
        let device = server.rows("SELECT id FROM devices")[0][0].clone().unwrap();
        server.block_on(async {
            let view = |name: &'static str| {
                let base = base.clone();
                async move {
                    let mut c = Client::new(&base);
                    c.login(name, PASSWORD).await;
                    c.get("/console/api/watchlist").await.body
                }
            };
            let allowed = view("allowed").await;
            assert_eq!(
                allowed["hits"][0]["entry_ref"], "CASE-61",
                "{backend:?} {allowed}"
            );
            assert_eq!(
                allowed["versions"][0]["devices"][0],
                device.as_str(),
                "the phone holds version 1"
            );
            let plain = view("plain").await;
            assert_eq!(plain["hits"].as_array().unwrap().len(), 1);
            assert!(plain["hits"][0]["entry_ref"].is_null(), "{plain}");
            let away = view("away").await;
            assert_eq!(
                away["hits"].as_array().unwrap().len(),
                0,
                "another district's hit"
            );
        });
        let viewed = server
            .rows("SELECT username FROM console_audit WHERE action = 'watchlist.hit_entry_viewed'");
        assert_eq!(viewed, vec![vec![Some("allowed".to_owned())]]);
    }
}

#[test]
fn a_password_sprayer_is_slowed_per_address() {
    for backend in backends() {
        let server = TestServer::start(&backend);
        let base = server.start_console();
        for i in 0..12 {
            account(&server, &format!("sup{i}"), Role::Supervisor, &[HOME]);
        }
        server.block_on(async {
            // One password tried on many accounts: no account reaches its lockout, but the
            // address runs out of attempts.
            let mut sprayer = Client::new(&base);
            let mut limited = None;
            for i in 0..12 {
                let a = sprayer.login(&format!("sup{i}"), "Spring2026!spring").await;
                if a.status == 429 {
                    limited = Some((i, a.body["code"].clone()));
                    break;
                }
                assert_eq!(a.status, 401);
            }
            let (at, code) = limited.expect("never limited");
            assert_eq!(
                (at, code.as_str()),
                (10, Some("rate.limited")),
                "{backend:?}"
            );
            // Even the right password waits.
            assert_eq!(sprayer.login("sup11", PASSWORD).await.status, 429);
        });
        assert_eq!(
            server.count("SELECT COUNT(*) FROM console_accounts WHERE locked_until > 0"),
            0
        );
    }
}

#[test]
fn every_documented_console_endpoint_is_served_and_refuses_a_stranger() {
    let doc: Value = serde_json::from_str(include_str!("../../server/openapi.json")).unwrap();
    let server = TestServer::start(&lgt_e2e::BackendChoice::Sqlite);
    let base = server.start_console();
    let documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.starts_with("/console/"))
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (path.clone(), method.clone()))
        })
        .collect();
    assert_eq!(documented.len(), 16, "{documented:?}");
    server.block_on(async {
        let stranger = Client::new(&base);
        for (path, method) in &documented {
            let url = format!("{base}{}", path.replace("{id}", "0"));
            let answer = match method.as_str() {
                "get" => stranger.send(stranger.http.get(url)).await,
                _ => {
                    let body = json!({"username": "nobody", "password": "wrong password"});
                    stranger
                        .send(
                            stranger
                                .http
                                .post(url)
                                .header("content-type", "application/json")
                                .body(body.to_string()),
                        )
                        .await
                }
            };
            assert_eq!(answer.status, 401, "{method} {path}: {:?}", answer.body);
            let documented = &doc["paths"][path][method]["responses"]["401"];
            assert!(documented.is_object(), "{method} {path}: 401 undocumented");
            let code = answer.body["code"].as_str().unwrap();
            assert!(
                code == "console.login_required" || code == "console.login_refused",
                "{code}"
            );
        }
        // And a route that is not there answers a JSON 404 under /console/api/.
        let missing = stranger.get("/console/api/nothing").await;
        assert_eq!(
            (missing.status, missing.body["code"].as_str()),
            (404, Some("request.not_found"))
        );
    });
}
