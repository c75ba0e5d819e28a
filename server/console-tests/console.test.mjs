// The supervisor console in a real browser: Debian's chromium, headless, driven by Playwright
// (playwright-core, no browser download) against a real lgt-server (SQLite in a temporary data
// directory, plain HTTP on loopback), with phones made by the real `lgt` client syncing into it.
// Each step is a check; the run ends with "N passed, N failed" (what .ci/run counts). A failed
// step fails the steps after it (they build on it). LGT_SCREENS=DIR saves a screenshot of each page.
import { chromium } from "playwright-core";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, chmodSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const target = process.env.CARGO_TARGET_DIR || path.join(root, "target");
const serverBin = process.env.LGT_SERVER_BIN || path.join(target, "debug", "lgt-server");
const lgtBin = process.env.LGT_BIN || path.join(target, "debug", "lgt");
const browserPath = process.env.CHROMIUM || "/usr/bin/chromium";
const screens = process.env.LGT_SCREENS;
const work = mkdtempSync(path.join(tmpdir(), "lgt-console-"));
chmodSync(work, 0o700);

const HOME = "110105";
const AWAY = "310104";
const LISTED = "632123198209270518"; // on the watchlist, registered by phone A
const AWAY_NUMBER = "360426199101010071"; // registered by phone C, in the other district
const PASSWORD = { admin: "admin-passphrase-1", sup: "supervisor-passphrase-1" };

let passed = 0;
let failed = 0;
let broken = null;
async function step(name, fn) {
  if (broken) {
    failed++;
    console.log(`not ok - ${name} (after: ${broken})`);
    return;
  }
  const started = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed++;
    broken = name;
    console.log(`not ok - ${name}\n  ${String(e && e.stack || e).split("\n").join("\n  ")}`);
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const data = path.join(work, "server");
function lgtServer(args, env = {}) {
  return execFileSync(serverBin, ["--data", data, ...args], {
    env: { ...process.env, RUST_LOG: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  }).toString();
}

/** A phone: a store of the real core, driven by `lgt --json`. */
function phone(name, actor) {
  const dir = path.join(work, name);
  mkdirSync(dir);
  const env = { ...process.env, LGT_STORE: path.join(dir, "store"), LGT_ACTOR: actor, LANG: "en_US.UTF-8" };
  delete env.LGT_KEY_FILE;
  delete env.LGT_NOW;
  const run = (args) => {
    const out = execFileSync(lgtBin, ["--json", ...args], { env, stdio: ["ignore", "pipe", "pipe"] }).toString().trim();
    const lines = out.split("\n").filter(Boolean);
    return lines.length === 1 ? JSON.parse(lines[0]) : lines.map((l) => JSON.parse(l));
  };
  run(["init"]);
  return { dir, run };
}

function registerArgs(name, number, house) {
  return ["register", "--name", name, "--sex", "1", "--ethnicity", "01", "--number", number,
    "--household-address", "合成省演示县1组", "--house-code", house, "--address", "合成市演示路2号",
    "--housing-type", "3", "--moved-in", "2026-11-01", "--reason", "1", "--occupation", "5"];
}

let server;
let browser;
let page;
let api;
let console_;
const phones = {};
const state = { pageErrors: [] };

async function shot(name) {
  if (!screens) return;
  mkdirSync(screens, { recursive: true });
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.screenshot({ path: path.join(screens, `${name}.png`) });
}

/** Labels on every field, a name on every button, the page's language, a skip link first. */
async function accessible(where) {
  const problems = await page.evaluate(() => {
    const out = [];
    if (document.documentElement.lang !== "zh-CN") out.push("html lang is not zh-CN");
    for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
      const labelled = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label");
      if (!labelled) out.push(`unlabelled ${el.tagName.toLowerCase()}#${el.id || "?"}`);
    }
    for (const b of document.querySelectorAll("button")) {
      if (!(b.getAttribute("aria-label") || b.textContent.trim())) out.push("a button without a name");
    }
    for (const svg of document.querySelectorAll("main svg")) {
      if (!(svg.getAttribute("aria-label") || svg.getAttribute("aria-labelledby"))) out.push("an unlabelled svg");
    }
    return out;
  });
  assert(problems.length === 0, `${where}: ${problems.join("; ")}`);
  const errors = state.pageErrors.filter((e) => !/status of 40[13]/.test(e));
  assert(errors.length === 0, `${where}: the browser reported ${errors.join("; ")}`);
  // Keyboard: the first Tab reaches the skip link, which moves focus to the content.
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => document.activeElement && document.activeElement.className);
  assert(first === "skip", `${where}: the first Tab reaches "${first}", not the skip link`);
}

async function main() {
  const apiPort = await freePort();
  const consolePort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  console_ = `http://127.0.0.1:${consolePort}`;

  await step("lgt-server console-account makes the first administrator and a supervisor", async () => {
    const admin = JSON.parse(lgtServer(["console-account", "admin", "--role", "admin", "--watchlist"], { LGT_CONSOLE_PASSWORD: PASSWORD.admin }));
    assert(admin.otpauth_uri.startsWith("otpauth://totp/"), "no otpauth URI");
    const sup = JSON.parse(lgtServer(["console-account", "sup", "--district", HOME, "--watchlist"], { LGT_CONSOLE_PASSWORD: PASSWORD.sup }));
    state.supSecret = sup.totp_secret;
  });

  await step("lgt-server serves the API and the console", async () => {
    server = spawn(serverBin, ["--data", data, "serve", "--plain-http", "--listen", `127.0.0.1:${apiPort}`,
      "--console-listen", `127.0.0.1:${consolePort}`, "--public-url", api], {
      env: { ...process.env, RUST_LOG: "info" }, stdio: ["ignore", "ignore", "pipe"],
    });
    server.stderr.on("data", () => {});
    for (let i = 0; i < 100; i++) {
      try {
        if ((await fetch(`${api}/health`)).ok && (await fetch(`${console_}/console/login`)).ok) return;
      } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("lgt-server did not start");
  });

  await step("a watchlist is built with its entry map (lgt watchlist build --map)", async () => {
    const builder = phone("builder", "publisher");
    const keys = path.join(builder.dir, "keys");
    builder.run(["watchlist", "keygen", "--dir", keys]);
    const csv = path.join(builder.dir, "list.csv");
    writeFileSync(csv, `entry_ref,name,sex,birth_date,id_numbers,case_summary,instructions\nCASE-0001,曾国强,1,,${LISTED},synthetic case,do not confront\n`);
    state.package = path.join(builder.dir, "v1.lgtwl");
    state.map = path.join(builder.dir, "v1.map.csv");
    builder.run(["watchlist", "build", "--cost", "test", "--keys", keys, "--state", path.join(builder.dir, "state.bin"),
      "--csv", csv, "--out", state.package, "--version", "1", "--map", state.map]);
    state.root = path.join(keys, "root.pub");
    assert(readFileSync(state.map, "utf8").includes(",CASE-0001"), "the map names no entry");
  });

  browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ["--no-sandbox"] });
  const context = browser ? await browser.newContext({ viewport: { width: 1280, height: 820 }, locale: "zh-CN" }) : null;
  page = context && (await context.newPage());
  page && page.on("dialog", (d) => d.accept());
  // Anything the Content-Security-Policy blocked, or a script error, shows here.
  page && page.on("console", (m) => { if (m.type() === "error") state.pageErrors.push(m.text()); });
  page && page.on("pageerror", (e) => state.pageErrors.push(String(e)));

  await step("log in with the keyboard alone (login page labelled)", async () => {
    await page.goto(`${console_}/console/devices`);
    assert(page.url().endsWith("/console/login"), `not sent to the login page: ${page.url()}`);
    await shot("login");
    await accessible("login");
    await page.focus("#username");
    await page.keyboard.type("admin");
    await page.keyboard.press("Tab");
    await page.keyboard.type(PASSWORD.admin);
    await page.keyboard.press("Enter");
    await page.waitForURL("**/console/devices");
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "lgt_console");
    assert(session && session.httpOnly && session.secure && session.sameSite === "Strict", `cookie flags: ${JSON.stringify(session)}`);
    assert(await page.evaluate(() => document.cookie === ""), "the session cookie is readable by script");
  });

  await step("an administrator publishes the list with its map", async () => {
    await page.goto(`${console_}/console/watchlist`);
    await page.setInputFiles("#package", state.package);
    await page.setInputFiles("#entries", state.map);
    await Promise.all([page.waitForEvent("load"), page.click("#publish button[type=submit]")]);
    const text = await page.textContent("main");
    assert(/wanted/.test(text) && /snapshot/.test(text), "the version is not listed");
    await accessible("watchlist");
  });

  await step("log out, and the session is gone", async () => {
    await Promise.all([page.waitForURL("**/console/login"), page.click("header form button")]);
    await page.goto(`${console_}/console/devices`);
    assert(page.url().endsWith("/console/login"), "still signed in after logout");
  });

  await step("a district supervisor logs in", async () => {
    await page.fill("#username", "sup");
    await page.fill("#password", PASSWORD.sup);
    await Promise.all([page.waitForURL("**/console/devices"), page.press("#password", "Enter")]);
  });

  await step("enroll a phone by the QR code on the enrollment page (decoded by lgt scan)", async () => {
    await page.goto(`${console_}/console/enrollment`);
    await accessible("enrollment");
    await page.fill("#coordinator", "coordinator-a");
    await page.selectOption("#district", HOME);
    await Promise.all([page.waitForEvent("load"), page.click("main form button[type=submit]")]);
    await shot("enrollment");
    const png = path.join(work, "qr.png");
    await page.locator("#enrollment-qr svg").screenshot({ path: png });
    const scanner = phone("scanner", "scanner");
    const scanned = scanner.run(["scan", png]);
    assert(scanned.found, `the QR code did not decode: ${JSON.stringify(scanned)}`);
    // The apps' enrollment QR: lgt-enroll:?server=...&pin=sha256%2F...&code=...
    assert(scanned.text.startsWith("lgt-enroll:?"), `QR text: ${scanned.text}`);
    const payload = new URLSearchParams(scanned.text.slice("lgt-enroll:?".length));
    assert(payload.get("server") === api && payload.get("pin").startsWith("sha256/") && payload.get("code"), `QR text: ${scanned.text}`);
    phones.a = phone("phone-a", "coordinator-a");
    const enrolled = phones.a.run(["enroll", "--server", payload.get("server"), "--code", payload.get("code"),
      "--watchlist-root", state.root, "--allow-test-cost"]);
    assert(enrolled.district === HOME, JSON.stringify(enrolled));
  });

  await step("phones sync: a listed person alerts, a permit is issued, two phones change it at once", async () => {
    const code = (coordinator, district) => JSON.parse(lgtServer(["enrollment-code", "--coordinator", coordinator, "--district", district])).code;
    phones.b = phone("phone-b", "coordinator-b");
    phones.b.run(["enroll", "--server", api, "--code", code("coordinator-b", HOME), "--watchlist-root", state.root, "--allow-test-cost"]);
    phones.c = phone("phone-c", "coordinator-c");
    phones.c.run(["enroll", "--server", api, "--code", code("coordinator-c", AWAY), "--watchlist-root", state.root, "--allow-test-cost"]);
    phones.c.run(registerArgs("测试人", AWAY_NUMBER, "HC-9"));
    phones.c.run(["sync"]);
    const a = phones.a;
    a.run(["sync"]);
    const receipt = a.run(registerArgs("曾国强", LISTED, "HC-2"));
    state.personId = receipt.person_id;
    const permit = a.run(["permit", "accept", state.personId]);
    state.permitId = permit.permit.id;
    a.run(["permit", "issue", state.permitId]);
    a.run(["permit", "deliver", state.permitId]);
    a.run(["sync"]);
    phones.b.run(["sync"]);
    a.run(["permit", "change-address", state.permitId, "--house-code", "H-FIRST", "--address", "合成市第一路1号", "--housing-type", "3"]);
    phones.b.run(["permit", "change-address", state.permitId, "--house-code", "H-SECOND", "--address", "合成市第二路2号", "--housing-type", "3"]);
    a.run(["sync"]);
    phones.b.run(["sync"]);
    const hits = JSON.parse(lgtServer(["watchlist-hits"]));
    assert(hits.length >= 1, "no hit report reached the server");
    const conflicts = JSON.parse(lgtServer(["conflicts"]));
    assert(conflicts.length === 1, `conflicts: ${conflicts.length}`);
  });

  await step("the devices page lists the district's phones with their health, not the other district's", async () => {
    await page.goto(`${console_}/console/devices`);
    await shot("devices");
    await accessible("devices");
    const rows = await page.locator("tbody tr[data-device]").count();
    assert(rows === 2, `rows: ${rows}`);
    const text = await page.textContent("main");
    assert(text.includes("coordinator-a") && text.includes("coordinator-b") && !text.includes("coordinator-c"), "wrong devices");
    assert(/UTC/.test(text), "no last contact shown");
  });

  await step("resolve the conflict for the phone's side, and the phones converge", async () => {
    await page.goto(`${console_}/console/conflicts`);
    await accessible("conflicts");
    const sections = page.locator("section.conflict");
    assert((await sections.count()) === 1, "the conflict is not shown");
    const sides = await page.locator("section.conflict .sides pre").allTextContents();
    assert(sides[0].includes("H-FIRST") && sides[1].includes("H-SECOND"), "both sides are not shown side by side");
    await shot("conflicts");
    await page.check("section.conflict input[value=phone]");
    await page.fill("section.conflict input[name=note]", "现场核实 confirmed on site");
    await Promise.all([page.waitForURL("**/console/conflicts"), page.click("section.conflict button[type=submit]")]);
    assert((await page.locator("section.conflict").count()) === 0, "still open");
    phones.a.run(["sync"]);
    phones.b.run(["sync"]);
    for (const p of [phones.a, phones.b]) {
      const shown = p.run(["permit", "show", state.permitId]);
      assert(shown.permit.dwelling.house_code === "H-SECOND", `not converged: ${JSON.stringify(shown.permit.dwelling)}`);
    }
  });

  await step("the watchlist hit is mapped to its list entry", async () => {
    await page.goto(`${console_}/console/watchlist`);
    await shot("watchlist");
    const entry = await page.locator("#hits tbody tr .entry").first().textContent();
    assert(entry.includes("CASE-0001"), `entry: ${entry}`);
  });

  await step("a person of the district is found by identity number, and another district's is refused", async () => {
    await page.goto(`${console_}/console/persons`);
    await accessible("persons");
    await page.fill("#id_number", LISTED);
    await Promise.all([page.waitForEvent("load"), page.click("form:has(#id_number) button")]);
    const found = await page.textContent("main");
    assert(found.includes("曾国强") && found.includes(state.personId), "the person is not shown");
    await shot("persons");
    // The other district's person under one's own district: not found, nothing told.
    await page.goto(`${console_}/console/persons`);
    await page.fill("#id_number", AWAY_NUMBER);
    await Promise.all([page.waitForEvent("load"), page.click("form:has(#id_number) button")]);
    assert((await page.textContent("main")).includes("本辖区无此人"), "not refused as unknown");
    // A tampered form naming the other district: refused.
    await page.goto(`${console_}/console/persons`);
    await page.evaluate((away) => {
      const select = document.querySelector("#search-district");
      select.add(new Option(away, away));
      select.value = away;
    }, AWAY);
    await page.fill("#id_number", AWAY_NUMBER);
    const [response] = await Promise.all([page.waitForResponse("**/console/api/persons/search"), page.click("form:has(#id_number) button")]);
    assert(response.status() === 403, `status ${response.status()}`);
    const refused = await page.textContent("main");
    assert(refused.includes("这不是您的辖区") && !refused.includes("测试人"), "not refused");
  });

  await step("a bulk listing asks for the one-time code first", async () => {
    await page.goto(`${console_}/console/persons`);
    assert(await page.locator("#totp").count() === 1, "no second-factor field");
    const code = execFileSync("node", ["-e", totpScript, state.supSecret]).toString().trim();
    await page.fill("#totp", code);
    await Promise.all([page.waitForURL("**/console/persons"), page.click("form:has(#totp) button")]);
    await Promise.all([page.waitForEvent("load"), page.click("form:has(#list-district) button")]);
    assert((await page.textContent("main")).includes("曾国强"), "no listing");
  });

  await step("the sync health chart shows operations per hour and queue depth", async () => {
    await page.goto(`${console_}/console/health`);
    await accessible("health");
    await shot("health");
    const bars = await page.locator(".chart svg rect").count();
    assert(bars === 48, `bars: ${bars}`);
    const rows = await page.locator("main table tbody tr").count();
    assert(rows >= 1, "no hour with operations");
  });

  await step("every view of personal data is in the console's audit trail", async () => {
    await page.goto(`${console_}/console/audit`);
    await accessible("audit");
    await shot("audit");
    const text = await page.textContent("main");
    for (const action of ["person.viewed", "person.refused_district", "conflict.resolved", "watchlist.hit_entry_viewed", "enrollment.code_issued", "persons.listed"]) {
      assert(text.includes(action), `${action} is not in the trail`);
    }
    assert(!text.includes(LISTED), "an identity number in the trail");
  });

  await step("log out", async () => {
    await Promise.all([page.waitForURL("**/console/login"), page.click("header form button")]);
    const status = (await page.goto(`${console_}/console/api/devices`)).status();
    assert(status === 401, `after logout: ${status}`);
  });
}

// RFC 6238 in a few lines of Node (a second, independent implementation of the server's).
const totpScript = `
const crypto = require("node:crypto");
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
let bits = "";
for (const c of process.argv[1]) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
const step = Buffer.alloc(8);
step.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000)));
const h = crypto.createHmac("sha1", key).update(step).digest();
const o = h[19] & 15;
console.log(String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, "0"));
`;

try {
  await main();
} catch (e) {
  failed++;
  console.log(`not ok - the run itself\n  ${e && e.stack || e}`);
} finally {
  if (browser) await browser.close();
  if (server) server.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
