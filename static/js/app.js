// Shared page behaviour: CSRF header for fetch, clearing what the page holds at logout.
export const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

export async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
    body: JSON.stringify(body || {}),
  });
  let data = {};
  try { data = await response.json(); } catch (_) { /* empty body */ }
  return { ok: response.ok, status: response.status, data };
}

// At logout nothing of the patient's may stay in the browser: session/local storage are cleared.
document.querySelectorAll("form[data-logout]").forEach((form) => {
  form.addEventListener("submit", () => {
    try { sessionStorage.clear(); localStorage.clear(); } catch (_) { /* storage disabled */ }
  });
});

// Table rows that link to a page open it with one touch.
document.querySelectorAll("tr[data-href]").forEach((row) => {
  row.addEventListener("click", (event) => {
    if (event.target.closest("a, button, input, select, form")) return;
    window.location.href = row.dataset.href;
  });
});

// The safety banner stays at the top while scrolling; other sticky bars (the profile's section links) sit just
// below it, whatever its height on this screen.
const safetyBanner = document.getElementById("safety-banner");
if (safetyBanner && "ResizeObserver" in window) {
  const summary = safetyBanner.querySelector("summary");
  new ResizeObserver(() => {
    document.documentElement.style.setProperty("--banner-height", `${summary.offsetHeight}px`);
  }).observe(summary);
}
