// Idle screen lock: after the clinic's idle time the page is covered and asks for the password again.
// The page underneath stays as it is (nothing typed is lost). Activity is reported to the server at
// most once a minute so that the server's own idle check agrees with what the user is doing.
import { postJSON } from "./app.js";

const body = document.body;
const idleMinutes = Number(body.dataset.idleMinutes || 10);
const overlay = document.getElementById("lock-overlay");
const form = document.getElementById("lock-form");
const errorBox = document.getElementById("lock-error");
const passwordInput = document.getElementById("lock-password");
let lastActivity = Date.now();
let lastPing = Date.now();
let locked = false;

function lock() {
  if (locked || !overlay) return;
  locked = true;
  overlay.hidden = false;
  passwordInput.value = "";
  passwordInput.focus();
}

function unlockView() {
  locked = false;
  overlay.hidden = true;
  lastActivity = Date.now();
  lastPing = Date.now();
}

function activity() {
  if (locked) return;
  lastActivity = Date.now();
  if (Date.now() - lastPing > 60_000) {
    lastPing = Date.now();
    postJSON(body.dataset.pingUrl).then((r) => { if (r.status === 401 && r.data.error === "locked") lock(); });
  }
}

["pointerdown", "keydown", "touchstart", "wheel", "scroll"].forEach((type) =>
  window.addEventListener(type, activity, { passive: true, capture: true }));

// Timers stop while a tablet sleeps, so elapsed time is measured by the clock, not by ticks.
setInterval(() => {
  if (!locked && Date.now() - lastActivity > idleMinutes * 60_000) lock();
}, 1000);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && Date.now() - lastActivity > idleMinutes * 60_000) lock();
});

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.textContent = "";
  const result = await postJSON(body.dataset.unlockUrl, { password: passwordInput.value });
  if (result.ok) {
    unlockView();
  } else if (result.status === 401 && result.data.error === "session_expired") {
    window.location.href = "/login";
  } else {
    errorBox.textContent = result.data.message || "パスワードが正しくありません";
  }
});

if (document.body.dataset.startLocked === "1") lock();
