// Registers the service worker (app shell and offline page only).
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" })
    .then(() => navigator.serviceWorker.ready)
    .then(() => { window.swReady = true; })
    .catch((error) => { window.swError = String(error); });
}
