// The patient screen: a touch tells the server the patient is still reading (at most once a minute); after the
// clinic's idle time without one the page goes to its lock, which shows nothing of the patient. The server keeps
// the same clock and refuses the screen once it has locked, whatever this script does.
const root = document.getElementById("patient-view");
if (root) {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const idleMs = Number(root.dataset.idleSeconds || 600) * 1000;
  let lastActivity = Date.now();
  let lastPing = Date.now();
  const lock = () => { window.location.replace(root.dataset.lockedUrl); };
  const activity = () => {
    lastActivity = Date.now();
    if (Date.now() - lastPing > 60_000) {
      lastPing = Date.now();
      fetch(root.dataset.pingUrl, { method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, Accept: "application/json" } })
        .then((r) => { if (!r.ok) lock(); }).catch(() => {});
    }
  };
  ["pointerdown", "keydown", "touchstart", "wheel", "scroll"].forEach((type) =>
    window.addEventListener(type, activity, { passive: true, capture: true }));
  // Timers stop while a tablet sleeps: the clock decides, checked every second and when the page is shown again.
  setInterval(() => { if (Date.now() - lastActivity > idleMs) lock(); }, 1000);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && Date.now() - lastActivity > idleMs) lock();
  });
}
