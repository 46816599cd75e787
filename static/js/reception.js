// Live 受付一覧: polls a small fingerprint of the day's list and reloads the table when another
// tablet (or ORCA) changed it — within 2 seconds, without a full page reload, and without moving what the
// clerk is looking at: the row at the top of the screen stays where it was (rows added above it push nothing),
// and the table's sideways scroll is kept.
const section = document.getElementById("reception");
if (section) {
  let revision = section.dataset.revision;
  let etag = null;

  // The first row still (partly) on screen, and how far from the top of the window it is.
  const anchor = () => {
    const rows = section.querySelectorAll("tr[data-visit]");
    for (const row of rows) {
      const box = row.getBoundingClientRect();
      if (box.bottom > 0) return { visit: row.dataset.visit, top: box.top };
    }
    return null;
  };

  const replace = (fresh) => {
    const kept = anchor();
    const wrap = section.querySelector(".table-wrap");
    const sideways = wrap ? wrap.scrollLeft : 0;
    const scrolled = window.scrollY;
    section.innerHTML = fresh.innerHTML;
    const again = section.querySelector(".table-wrap");
    if (again) again.scrollLeft = sideways;
    const row = kept && section.querySelector(`tr[data-visit="${CSS.escape(kept.visit)}"]`);
    if (row && scrolled > 0) {
      window.scrollBy(0, row.getBoundingClientRect().top - kept.top);
    } else {
      window.scrollTo(0, scrolled);
    }
  };

  const bindRows = () => {
    section.querySelectorAll("tr[data-href]").forEach((row) => {
      row.addEventListener("click", (event) => {
        if (event.target.closest("a, button, input, select, form")) return;
        window.location.href = row.dataset.href;
      });
    });
  };

  const poll = async () => {
    try {
      // Background requests (X-Kamikarte-Background): the page polls by itself, which is no user activity and
      // must not keep the idle screen lock away (app/core/web.py BACKGROUND_ENDPOINTS).
      const headers = { Accept: "application/json", "X-Kamikarte-Background": "1" };
      if (etag) headers["If-None-Match"] = etag;  // nothing changed → an empty 304, almost free for the server
      const response = await fetch(section.dataset.revisionUrl, { headers, credentials: "same-origin", cache: "no-store" });
      if (response.status === 304) return;
      if (response.ok) {
        etag = response.headers.get("ETag");
        const data = await response.json();
        if (data.revision !== revision) {
          const page = await fetch(window.location.href,
            { credentials: "same-origin", headers: { "X-Kamikarte-Background": "1" } });
          const html = new DOMParser().parseFromString(await page.text(), "text/html");
          const fresh = html.getElementById("reception");
          if (fresh) {
            replace(fresh);
            revision = fresh.dataset.revision;
            section.dataset.revision = revision;
            bindRows();
          }
        }
      }
    } catch (_) { /* offline for a moment: try again on the next tick */ }
  };
  setInterval(poll, 1500);
}
