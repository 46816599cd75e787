// Results as you type: the same server search as the form, fetched as an HTML fragment.
const input = document.getElementById("q");
const target = document.getElementById("patient-results");
let timer = null;
let sequence = 0;
input?.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    const mine = ++sequence;
    const url = new URL(input.dataset.resultsUrl, window.location.origin);
    url.searchParams.set("q", input.value);
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (mine !== sequence || !response.ok) return; // a newer keystroke already asked
      target.innerHTML = await response.text();
      target.querySelectorAll("tr[data-href]").forEach((row) =>
        row.addEventListener("click", () => { window.location.href = row.dataset.href; }));
      history.replaceState(null, "", `?q=${encodeURIComponent(input.value)}`);
    } catch (_) { /* keep the last results */ }
  }, 150);
});
