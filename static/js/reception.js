// Live 受付一覧: polls a small fingerprint of the day's list and reloads the table when another
// tablet (or ORCA) changed it — within 2 seconds, without a full page reload.
const section = document.getElementById("reception");
if (section) {
  let revision = section.dataset.revision;
  const poll = async () => {
    try {
      const response = await fetch(section.dataset.revisionUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
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
