//! The console's HTML: Chinese first, English beside; labels on every field, a skip link,
//! one stylesheet and one small script (both in the binary). The QR code and the chart are SVG
//! drawn here, so the page needs nothing from elsewhere.

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde_json::Value;

use super::accounts::{Role, Session};
use super::data::{ConflictView, DeviceRow, HealthHour, PersonView, WatchlistView};

pub(super) async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("assets/console.css"),
    )
}

pub(super) async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("assets/console.js"),
    )
}

/// HTML-escapes text.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Chinese, then English beside it.
fn t(zh: &str, en: &str) -> String {
    format!("{zh} <span class=\"en\" lang=\"en\">{en}</span>")
}

fn time(unix: Option<i64>) -> String {
    unix.and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "—".to_owned())
}

const PAGES: [(&str, &str, &str); 7] = [
    ("/console/devices", "设备", "Devices"),
    ("/console/enrollment", "设备登记", "Enrollment"),
    ("/console/conflicts", "冲突", "Conflicts"),
    ("/console/watchlist", "布控名单", "Watchlist"),
    ("/console/persons", "人员与居住证", "Persons and permits"),
    ("/console/health", "同步状况", "Sync health"),
    ("/console/audit", "审计记录", "Audit trail"),
];

fn document(title: &str, header: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · 流管通 督导台</title>\
         <link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"/console/assets/console.css\">\
         <script src=\"/console/assets/console.js\"></script></head><body>\
         <a class=\"skip\" href=\"#main\">跳到正文 <span lang=\"en\">Skip to content</span></a>\
         <header>{header}</header><main id=\"main\" tabindex=\"-1\">{body}</main></body></html>"
    )
}

fn layout(session: &Session, current: &str, body: &str) -> String {
    let (_, zh, en) = PAGES
        .iter()
        .find(|(path, _, _)| *path == current)
        .copied()
        .unwrap_or(("", "督导台", "Console"));
    let nav: String = PAGES
        .iter()
        .map(|(path, zh, en)| {
            let current = if *path == current {
                " aria-current=\"page\""
            } else {
                ""
            };
            format!("<a href=\"{path}\"{current}>{}</a>", t(zh, en))
        })
        .collect();
    let role = match session.account.role {
        Role::Admin => t("管理员", "administrator"),
        Role::Supervisor => format!(
            "{}: {}",
            t("督导", "supervisor"),
            esc(&session.account.districts.join(", "))
        ),
    };
    let header = format!(
        "<strong>流管通 督导台 <span class=\"en\" lang=\"en\">Supervisor console</span></strong>\
         <nav aria-label=\"主菜单 Main\">{nav}</nav>\
         <span>{} ({role})</span>\
         <form method=\"post\" action=\"/console/api/logout\">{}\
         <button type=\"submit\">{}</button></form>",
        esc(&session.account.username),
        csrf(session),
        t("退出", "Log out"),
    );
    document(zh, &header, &format!("<h1>{}</h1>{body}", t(zh, en)))
}

fn csrf(session: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&session.csrf)
    )
}

pub(super) fn refusal(status: StatusCode, message: &str) -> String {
    document(
        "拒绝",
        "<strong>流管通 督导台 <span class=\"en\" lang=\"en\">Supervisor console</span></strong>\
         <nav><a href=\"/console/devices\">返回 <span class=\"en\" lang=\"en\">Back</span></a></nav>",
        &format!(
            "<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p>",
            t("请求被拒绝", &format!("Refused ({})", status.as_u16())),
            esc(message)
        ),
    )
}

pub(super) fn login(error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    document(
        "登录",
        "<strong>流管通 督导台 <span class=\"en\" lang=\"en\">Supervisor console</span></strong>",
        &format!(
            "<h1>{}</h1>{error}\
             <form method=\"post\" action=\"/console/api/login\">\
             <label for=\"username\">{}</label>\
             <input id=\"username\" name=\"username\" autocomplete=\"username\" required>\
             <label for=\"password\">{}</label>\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <p><button type=\"submit\">{}</button></p></form>",
            t("登录", "Log in"),
            t("账户名", "Account name"),
            t("密码", "Password"),
            t("登录", "Log in"),
        ),
    )
}

pub(super) fn devices(session: &Session, devices: &[DeviceRow]) -> String {
    let mut rows = String::new();
    for d in devices {
        let h = &d.health;
        let mut flags = String::new();
        if h.clock_suspect {
            flags += &format!(
                "<span class=\"flag\">{}</span>",
                t("时钟偏差", "clock drifting")
            );
        }
        if d.stuck_queue {
            flags += &format!(
                "<span class=\"flag\">{}</span>",
                t("队列阻塞", "queue stuck")
            );
        }
        if d.audit_rollback {
            flags += &format!(
                "<span class=\"flag\">{}</span>",
                t("审计回滚", "audit rollback")
            );
        }
        if h.revoked_at.is_some() {
            flags += &format!("<span class=\"flag\">{}</span>", t("已吊销", "revoked"));
        }
        if flags.is_empty() {
            flags = format!("<span class=\"ok\">{}</span>", t("正常", "OK"));
        }
        let id = esc(&h.id);
        let actions = if h.revoked_at.is_none() {
            format!(
                "<form class=\"inline\" method=\"post\" action=\"/console/api/devices/{id}/revoke\" data-confirm=\"吊销此设备？ Revoke this device?\">{c}\
                 <button class=\"danger\" type=\"submit\" aria-label=\"吊销 Revoke {id}\">{}</button></form> \
                 <form class=\"inline\" method=\"post\" action=\"/console/api/devices/{id}/wipe\" data-confirm=\"清除此设备数据？ Wipe this device?\">{c}\
                 <button class=\"danger\" type=\"submit\" aria-label=\"清除 Wipe {id}\">{}</button></form>",
                t("吊销", "Revoke"),
                t("清除", "Wipe"),
                c = csrf(session),
            )
        } else {
            String::new()
        };
        rows += &format!(
            "<tr data-device=\"{id}\"><td><code>{id}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{flags}</td><td>{actions}</td></tr>",
            esc(&h.coordinator),
            esc(&h.district),
            time(h.last_contact),
            h.queue_depth.map_or("—".into(), |q| q.to_string()),
            esc(h.oldest_pending.as_deref().unwrap_or("—")),
            h.clock_skew_secs.map_or("—".into(), |s| format!("{s} s")),
            esc(&d.client_version),
        );
    }
    if devices.is_empty() {
        rows = format!(
            "<tr><td colspan=\"10\">{}</td></tr>",
            t("暂无设备", "No devices yet")
        );
    }
    layout(
        session,
        "/console/devices",
        &format!(
            "<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>{rows}</tbody></table>",
            t("您辖区内的设备及其同步状况", "Devices of your districts and their sync health"),
            t("设备", "Device"),
            t("协管员", "Coordinator"),
            t("辖区", "District"),
            t("最近联系", "Last contact"),
            t("待传队列", "Queue depth"),
            t("最早待传操作", "Oldest pending"),
            t("时钟偏差", "Clock skew"),
            t("版本", "Version"),
            t("标记", "Flags"),
            t("操作", "Actions"),
        ),
    )
}

/// The payload as a QR code, in SVG (dark modules on white, a quiet zone of four).
pub(super) fn qr_svg(payload: &str) -> String {
    use qrcode::render::svg;
    match qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => {
            let svg = code
                .render::<svg::Color<'_>>()
                .min_dimensions(320, 320)
                .quiet_zone(true)
                .build();
            // Inline in the page: without the XML declaration, with a text alternative.
            svg.split_once("<svg")
                .map(|(_, rest)| {
                    format!("<svg role=\"img\" aria-label=\"登记二维码 Enrollment QR code\"{rest}")
                })
                .unwrap_or(svg)
        }
        Err(_) => String::new(),
    }
}

pub(super) fn enrollment(
    session: &Session,
    issued: Option<(&crate::admin::EnrollmentCode, &str, &str)>,
) -> String {
    let districts = if session.account.role == Role::Admin {
        "<input id=\"district\" name=\"district\" required pattern=\"[0-9]{6}\" inputmode=\"numeric\">".to_owned()
    } else {
        let options: String = session
            .account
            .districts
            .iter()
            .map(|d| format!("<option>{}</option>", esc(d)))
            .collect();
        format!("<select id=\"district\" name=\"district\">{options}</select>")
    };
    let shown = issued
        .map(|(code, payload, qr)| {
            format!(
                "<section aria-labelledby=\"issued\"><h2 id=\"issued\">{}</h2>\
                 <p>{}</p><div class=\"qr\" id=\"enrollment-qr\">{qr}</div>\
                 <p>{}: <code id=\"enrollment-code\">{}</code> · {}: {} · {}: {}</p>\
                 <details><summary>{}</summary><pre id=\"enrollment-payload\">{}</pre></details></section>",
                t("登记码已签发", "Enrollment code issued"),
                t(
                    "请用手机的设备登记界面扫描此二维码。此码只能使用一次。",
                    "Scan this QR code with the phone's enrollment screen. The code works once."
                ),
                t("登记码", "Code"),
                esc(&code.code),
                t("辖区", "District"),
                esc(&code.district),
                t("有效至", "Valid until"),
                time(Some(code.expires_at)),
                t("二维码内容", "What the QR code holds"),
                esc(payload),
            )
        })
        .unwrap_or_default();
    layout(
        session,
        "/console/enrollment",
        &format!(
            "<form method=\"post\" action=\"/console/api/enrollment-codes\">{}\
             <label for=\"coordinator\">{}</label><input id=\"coordinator\" name=\"coordinator\" required maxlength=\"64\">\
             <label for=\"district\">{}</label>{districts}\
             <label for=\"ttl_hours\">{}</label><input id=\"ttl_hours\" name=\"ttl_hours\" type=\"number\" min=\"1\" max=\"336\" value=\"24\">\
             <label for=\"max_offline_hours\">{}</label><input id=\"max_offline_hours\" name=\"max_offline_hours\" type=\"number\" min=\"1\" max=\"1440\" value=\"72\">\
             <p><button type=\"submit\">{}</button></p></form>{shown}",
            csrf(session),
            t("协管员账户", "Coordinator account"),
            t("辖区代码", "District code"),
            t("登记码有效小时数", "Hours the code stays valid"),
            t("最长离线小时数", "Hours the device may stay offline"),
            t("签发登记码", "Issue an enrollment code"),
        ),
    )
}

fn pretty(value: &Value) -> String {
    esc(&serde_json::to_string_pretty(value).unwrap_or_default())
}

/// One radio button per side the resolution path takes for this kind of conflict (a side
/// added there shows here): the phone's side for a permit event, a merge of the two persons
/// for a registration.
fn sides(registration: bool) -> String {
    use crate::resolution::Side;
    use clap::ValueEnum;
    Side::value_variants()
        .iter()
        .filter(|side| match side {
            Side::Phone => !registration,
            Side::Merge => registration,
            Side::Server => true,
        })
        .enumerate()
        .filter_map(|(i, side)| {
            let name = side.to_possible_value()?.get_name().to_owned();
            let label = match name.as_str() {
                "server" => t("保留服务器记录", "Keep the server's record"),
                "phone" => t("应用手机的变更", "Apply the phone's change"),
                "merge" => t(
                    "两人为同一人：合并并采用此登记",
                    "They are one person: merge them and apply this registration",
                ),
                other => esc(other),
            };
            let checked = if i == 0 { " checked" } else { "" };
            Some(format!(
                "<label><input type=\"radio\" name=\"side\" value=\"{}\"{checked}> {label}</label>",
                esc(&name)
            ))
        })
        .collect()
}

pub(super) fn conflicts(session: &Session, conflicts: &[ConflictView]) -> String {
    let mut body = String::new();
    if conflicts.is_empty() {
        body = format!("<p>{}</p>", t("没有待处理的冲突", "No open conflicts"));
    }
    for c in conflicts {
        let id = esc(&c.conflict.id);
        let sides = sides(c.phone.get("registration").is_some());
        let server = c
            .server
            .as_ref()
            .map(pretty)
            .unwrap_or_else(|| t("服务器无此记录", "the server holds no such record"));
        body += &format!(
            "<section class=\"conflict\" data-conflict=\"{id}\" aria-labelledby=\"c-{id}\">\
             <h2 id=\"c-{id}\">{} <code>{}</code></h2>\
             <p>{}: <code>{}</code> · {}: {} · {}: {} · {}</p>\
             <div class=\"sides\"><div><h3>{}</h3><pre>{server}</pre></div>\
             <div><h3>{}</h3><pre>{}</pre></div></div>\
             <form method=\"post\" action=\"/console/api/conflicts/{id}/resolve\">{}\
             <fieldset><legend>{}</legend>\
             {sides}</fieldset>\
             <label for=\"note-{id}\">{}</label><input id=\"note-{id}\" name=\"note\" required maxlength=\"500\">\
             <p><button type=\"submit\">{}</button></p></form></section>",
            t("记录", "Record"),
            esc(&c.conflict.record_id),
            t("设备", "Device"),
            esc(&c.conflict.device_id),
            t("辖区", "District"),
            esc(&c.district),
            t("时间", "At"),
            time(Some(c.conflict.created_at)),
            esc(&c.conflict.reason),
            t("服务器一方（现状）", "Server side (as it stands)"),
            t("手机一方（提交的变更）", "Phone side (the change sent)"),
            pretty(&c.phone),
            csrf(session),
            t("采用哪一方", "Which side to apply"),
            t("说明（随决定保存）", "Note (kept with the decision)"),
            t("确认处理", "Resolve"),
        );
    }
    layout(session, "/console/conflicts", &body)
}

pub(super) fn watchlist(session: &Session, view: &WatchlistView) -> String {
    let versions: String = view
        .versions
        .iter()
        .map(|v| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&v.list_id),
                v.version,
                esc(&v.kind),
                v.entry_count,
                time(Some(v.published_at)),
                if v.devices.is_empty() {
                    "—".to_owned()
                } else {
                    v.devices
                        .iter()
                        .map(|d| format!("<code>{}</code>", esc(d)))
                        .collect::<Vec<_>>()
                        .join(" ")
                },
            )
        })
        .collect();
    let hits: String = view
        .hits
        .iter()
        .map(|h| {
            format!(
                "<tr data-alert=\"{}\"><td>{}</td><td><code>{}</code></td><td>{}</td><td>{} v{}</td><td>{}</td><td>{}</td><td class=\"entry\">{}</td></tr>",
                esc(&h.hit.alert_id),
                time(Some(h.hit.received_at)),
                esc(&h.hit.device_id),
                esc(&h.district),
                esc(&h.hit.list_id),
                h.hit.list_version,
                esc(&h.hit.matched_on),
                h.hit.score,
                match (&h.entry_ref, view.entries_shown) {
                    (Some(r), _) => format!("<strong>{}</strong>", esc(r)),
                    (None, true) => t("无对应条目", "no entry mapped"),
                    (None, false) => t("无权查看", "not permitted"),
                },
            )
        })
        .collect();
    let publish = if session.account.role == Role::Admin {
        format!(
            "<h2>{}</h2><form id=\"publish\" data-csrf=\"{}\">\
             <label for=\"package\">{}</label><input id=\"package\" type=\"file\" required>\
             <label for=\"entries\">{}</label><input id=\"entries\" type=\"file\" accept=\".csv,text/csv\">\
             <p><button type=\"submit\">{}</button> <span id=\"publish-status\" role=\"status\"></span></p></form>",
            t("发布名单", "Publish a list"),
            esc(&session.csrf),
            t("名单包（lgt watchlist build 生成）", "Package (built by lgt watchlist build)"),
            t("条目对照表（可选，lgt watchlist build --map）", "Entry map (optional, lgt watchlist build --map)"),
            t("发布", "Publish"),
        )
    } else {
        String::new()
    };
    layout(
        session,
        "/console/watchlist",
        &format!(
            "{publish}<h2>{}</h2><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>{versions}</tbody></table>\
             <h2>{}</h2><table id=\"hits\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>{hits}</tbody></table>",
            t("版本", "Versions"),
            t("名单", "List"),
            t("版本", "Version"),
            t("类型", "Kind"),
            t("条目数", "Entries"),
            t("发布时间", "Published"),
            t("持有此版本的设备", "Devices holding it"),
            t("命中报告", "Hit reports"),
            t("收到", "Received"),
            t("设备", "Device"),
            t("辖区", "District"),
            t("名单版本", "List version"),
            t("匹配项", "Matched on"),
            t("分数", "Score"),
            t("名单条目", "List entry"),
        ),
    )
}

fn person_block(p: &PersonView) -> String {
    let field = |name: &str| {
        p.record
            .get(name)
            .and_then(Value::as_str)
            .map(esc)
            .unwrap_or_else(|| "—".into())
    };
    let permits: String = p
        .permits
        .iter()
        .map(|x| {
            format!(
                "<li><code>{}</code> {} · {} v{}</li>",
                esc(&x.permit_id),
                esc(x.number.as_deref().unwrap_or("—")),
                esc(x.state.as_deref().unwrap_or("—")),
                x.version
            )
        })
        .collect();
    format!(
        "<section class=\"person\" data-person=\"{}\"><h3>{} · <code>{}</code></h3>\
         <p>{}: {} · {}: {} · {}: {}</p><p>{}</p><ul>{permits}</ul></section>",
        esc(&p.person_id),
        field("name"),
        esc(&p.person_id),
        t("辖区", "District"),
        esc(&p.district),
        t("性别", "Sex"),
        field("sex"),
        t("出生日期", "Birth date"),
        field("birth_date"),
        t("居住证", "Permits"),
    )
}

pub(super) fn persons(
    session: &Session,
    found: Option<Option<&PersonView>>,
    listing: Option<&(String, Vec<PersonView>)>,
) -> String {
    let districts: String = session
        .account
        .districts
        .iter()
        .map(|d| format!("<option>{}</option>", esc(d)))
        .collect();
    let district_field = |id: &str| {
        if session.account.role == Role::Admin {
            format!("<input id=\"{id}\" name=\"district\" required pattern=\"[0-9]{{6}}\" inputmode=\"numeric\">")
        } else {
            format!("<select id=\"{id}\" name=\"district\">{districts}</select>")
        }
    };
    let result = match found {
        Some(Some(p)) => format!(
            "<h2>{}</h2><p class=\"en\">{}</p>{}",
            t("查询结果", "Result"),
            t(
                "此次查看已记入审计记录",
                "This view was written to the audit trail"
            ),
            person_block(p)
        ),
        Some(None) => format!(
            "<p role=\"status\">{}</p>",
            t("本辖区无此人", "No such person in this district")
        ),
        None => String::new(),
    };
    let bulk = match listing {
        Some((district, persons)) => format!(
            "<h2>{} {}</h2>{}",
            t("辖区人员", "Persons of district"),
            esc(district),
            persons.iter().map(person_block).collect::<String>()
        ),
        None if session.totp_fresh() => format!(
            "<form method=\"get\" action=\"/console/persons\"><label for=\"list-district\">{}</label>{}\
             <p><button type=\"submit\">{}</button></p></form>",
            t("列出辖区全部人员", "List every person of a district"),
            district_field("list-district"),
            t("列出", "List"),
        ),
        None => format!(
            "<form method=\"post\" action=\"/console/api/totp\">{}\
             <input type=\"hidden\" name=\"next\" value=\"/console/persons\">\
             <label for=\"totp\">{}</label><input id=\"totp\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]{{6}}\" required>\
             <p><button type=\"submit\">{}</button></p></form>",
            csrf(session),
            t("批量查看需动态口令（TOTP）", "A bulk view needs your one-time code (TOTP)"),
            t("验证", "Verify"),
        ),
    };
    layout(
        session,
        "/console/persons",
        &format!(
            "<form method=\"post\" action=\"/console/api/persons/search\">{}\
             <label for=\"search-district\">{}</label>{}\
             <label for=\"id_number\">{}</label><input id=\"id_number\" name=\"id_number\" maxlength=\"32\" autocomplete=\"off\">\
             <p><button type=\"submit\">{}</button></p></form>\
             <form method=\"post\" action=\"/console/api/persons/search\">{}\
             <label for=\"permit-district\">{}</label>{}\
             <label for=\"permit_number\">{}</label><input id=\"permit_number\" name=\"permit_number\" maxlength=\"32\" autocomplete=\"off\">\
             <p><button type=\"submit\">{}</button></p></form>{result}{bulk}",
            csrf(session),
            t("辖区", "District"),
            district_field("search-district"),
            t("身份证号码", "Identity number"),
            t("按身份证号查询", "Search by identity number"),
            csrf(session),
            t("辖区", "District"),
            district_field("permit-district"),
            t("居住证号码", "Permit number"),
            t("按居住证号查询", "Search by permit number"),
        ),
    )
}

/// Operations per hour (bars) and queue depth (line), as SVG with a table of the same numbers.
fn chart(hours: &[HealthHour]) -> String {
    let (w, h, left, bottom) = (860.0_f64, 260.0_f64, 60.0_f64, 30.0_f64);
    let top_ops = hours.iter().map(|x| x.operations).max().unwrap_or(0);
    let top_q = hours.iter().map(|x| x.queue_depth).max().unwrap_or(0);
    let (max_ops, max_q) = (top_ops.max(1) as f64, top_q.max(1) as f64);
    let step = (w - left - 10.0) / hours.len().max(1) as f64;
    let plot = h - bottom - 10.0;
    let mut bars = String::new();
    let mut line = Vec::new();
    let mut labels = String::new();
    for (i, x) in hours.iter().enumerate() {
        let bx = left + i as f64 * step;
        let bh = x.operations as f64 / max_ops * plot;
        bars += &format!(
            "<rect x=\"{bx:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#4f7cac\"><title>{} {}</title></rect>",
            10.0 + plot - bh,
            (step - 2.0).max(1.0),
            time(Some(x.hour)),
            x.operations
        );
        line.push(format!(
            "{:.1},{:.1}",
            bx + step / 2.0,
            10.0 + plot - x.queue_depth as f64 / max_q * plot
        ));
        if i % 6 == 0 {
            let label = chrono::DateTime::from_timestamp(x.hour, 0)
                .map(|t| t.format("%m-%d %H时").to_string())
                .unwrap_or_default();
            labels += &format!(
                "<text x=\"{bx:.1}\" y=\"{:.1}\" font-size=\"11\">{label}</text>",
                h - 10.0
            );
        }
    }
    format!(
        "<svg role=\"img\" aria-labelledby=\"chart-title chart-desc\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\">\
         <title id=\"chart-title\">每小时操作数与待传队列 Operations per hour and queue depth</title>\
         <desc id=\"chart-desc\">柱：每小时收到的操作（最多 {top_ops}）；线：各设备待传队列之和（最多 {top_q}）。Bars: operations received per hour; line: summed queue depth.</desc>\
         <line x1=\"{left}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>\
         {bars}<polyline fill=\"none\" stroke=\"#b42318\" stroke-width=\"2\" points=\"{}\"/>{labels}\
         <text x=\"4\" y=\"20\" font-size=\"11\" fill=\"#4f7cac\">操作 {top_ops}</text>\
         <text x=\"4\" y=\"36\" font-size=\"11\" fill=\"#b42318\">队列 {top_q}</text></svg>",
        10.0 + plot,
        w - 10.0,
        10.0 + plot,
        line.join(" ")
    )
}

pub(super) fn health(session: &Session, hours: &[HealthHour]) -> String {
    let rows: String = hours
        .iter()
        .rev()
        .filter(|x| x.operations > 0 || x.queue_depth > 0)
        .map(|x| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                time(Some(x.hour)),
                x.operations,
                x.queue_depth
            )
        })
        .collect();
    layout(
        session,
        "/console/health",
        &format!(
            "<p>{}</p><div class=\"chart\">{}</div>\
             <p><span class=\"legend-ops\" aria-hidden=\"true\">■</span> {} &nbsp; <span class=\"legend-queue\" aria-hidden=\"true\">━</span> {}</p>\
             <table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>{rows}</tbody></table>",
            t("最近 48 小时，您辖区内的全部设备", "The last 48 hours, every device of your districts"),
            chart(hours),
            t("每小时操作数", "operations per hour"),
            t("待传队列", "queue depth"),
            t("有数据的小时", "Hours with data"),
            t("小时", "Hour"),
            t("操作数", "Operations"),
            t("待传队列", "Queue depth"),
        ),
    )
}

pub(super) fn audit(session: &Session, lines: &[super::data::AuditLine]) -> String {
    let rows: String = lines
        .iter()
        .map(|l| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} <code>{}</code></td></tr>",
                time(Some(l.at)),
                esc(&l.username),
                esc(&l.action),
                esc(l.district.as_deref().unwrap_or("—")),
                esc(l.record_kind.as_deref().unwrap_or("")),
                esc(l.record_id.as_deref().unwrap_or("")),
            )
        })
        .collect();
    layout(
        session,
        "/console/audit",
        &format!(
            "<p>{}</p><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>{rows}</tbody></table>",
            t("督导台上每次查看个人信息和每个操作（仅记录编号）", "Every view of personal data and every action in the console (ids only)"),
            t("时间", "At"),
            t("账户", "Account"),
            t("操作", "Action"),
            t("辖区", "District"),
            t("记录", "Record"),
        ),
    )
}
