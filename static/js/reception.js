// Live 受付一覧: polls a small fingerprint of the day's list and reloads the table when another
// tablet (or ORCA) changed it — within 2 seconds, without a full page reload.
const section = document.getElementById("reception");
if (section) {
  let revision = section.dataset.revision;
  let etag = null;
  const poll = async () => {
    try {
      const headers = { Accept: "application/json" };
      if (etag) headers["If-None-Match"] = etag;  // nothing changed → an empty 304, almost free for the server
      const response = await fetch(section.dataset.revisionUrl, { headers, credentials: "same-origin", cache: "no-store" });
      if (response.status === 304) return;
      if (response.ok) {
        etag = response.headers.get("ETag");
        const data = await response.json();
        if (data.revision !== revision) {
          const page = await fetch(window.location.href, { credentials: "same-origin" });
          const html = new DOMParser().parseFromString(await page.text(), "text/html");
          const fresh = html.getElementById("reception");
          if (fresh) {
            section.innerHTML = fresh.innerHTML;
            revision = fresh.dataset.revision;
            section.dataset.revision = revision;
            bindRows();
          }
        }
      }
    } catch (_) { /* offline for a moment: try again on the next tick */ }
  };
  const bindRows = () => {
    section.querySelectorAll("tr[data-href]").forEach((row) => {
      row.addEventListener("click", (event) => {
        if (event.target.closest("a, button, input, select, form")) return;
        window.location.href = row.dataset.href;
      });
    });
  };
  setInterval(poll, 1500);
}
