// 流管通 supervisor console: the only script. Publishing a watchlist reads the chosen package
// (and its entry map) and posts them as JSON with the session's CSRF token; actions that
// cannot be undone ask first.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  const publish = document.getElementById("publish");
  if (!publish) return;
  publish.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = document.getElementById("publish-status");
    const file = document.getElementById("package").files[0];
    const map = document.getElementById("entries").files[0];
    if (!file) { status.textContent = "请选择名单包 / choose a package"; return; }
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    const body = { package: btoa(binary), entries: map ? await map.text() : "" };
    const response = await fetch("/console/api/watchlist/packages", {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": publish.dataset.csrf },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const answer = await response.json().catch(() => ({}));
    if (response.ok) { window.location.reload(); return; }
    status.textContent = "发布失败 / publishing failed: " + (answer.message || response.status);
  });
});
