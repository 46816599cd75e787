// Tablet image viewer: swipe through images and frames, pinch to zoom (one finger pans while zoomed), window
// presets and free window/level by drag. Images come from Kamikarte's own rendered-image route (same origin),
// which asks the PACS for WADO-RS /rendered with the window; nothing is cached beyond the page.
const root = document.querySelector("[data-viewer]");
if (root) {
  const frames = JSON.parse(document.getElementById("viewer-frames").textContent);
  const viewport = root.querySelector("[data-viewport]");
  const img = root.querySelector("[data-image]");
  const error = root.querySelector("[data-error]");
  const position = root.querySelector("[data-position]");
  const slider = root.querySelector("[data-slider]");
  const readout = root.querySelector("[data-window-readout]");
  const seriesLabel = root.querySelector("[data-series-label]");
  const modeButton = root.querySelector("[data-mode]");
  const form = document.getElementById("key-image-form");
  const state = { index: Number(root.dataset.index || 0), wc: null, ww: null, scale: 1, tx: 0, ty: 0, wlMode: false };
  const SWIPE_PX = 40;

  const defaultWindow = (f) => {
    if (f.wc != null && f.ww != null) return [f.wc, f.ww];
    return f.modality === "CT" ? [40, 400] : [2048, 4096];
  };

  const imageUrl = (f) => {
    if (state.wc == null) return f.url;
    const params = new URLSearchParams({ wc: Math.round(state.wc), ww: Math.max(1, Math.round(state.ww)) });
    return `${f.url}?${params}`;
  };

  const applyTransform = () => {
    img.style.transform = `translate(${state.tx}px, ${state.ty}px) scale(${state.scale})`;
  };

  const show = () => {
    const f = frames[state.index];
    error.hidden = true;
    img.src = imageUrl(f);
    position.textContent = `${state.index + 1} / ${frames.length}`;
    slider.value = String(state.index + 1);
    seriesLabel.textContent = `${f.modality} 画像${f.number}${f.frames > 1 ? `・フレーム ${f.frame}/${f.frames}` : ""}`;
    readout.textContent = state.wc == null ? "WL 標準 / WW 標準" : `WL ${Math.round(state.wc)} / WW ${Math.round(state.ww)}`;
    if (form) {
      form.elements.series_uid.value = f.series;
      form.elements.instance_uid.value = f.instance;
      form.elements.frame.value = f.frame;
      form.elements.wc.value = state.wc == null ? "" : Math.round(state.wc);
      form.elements.ww.value = state.ww == null ? "" : Math.round(state.ww);
    }
    const next = frames[state.index + 1];
    if (next) new Image().src = imageUrl(next); // the next swipe shows at once
  };

  const go = (delta) => {
    const target = Math.min(frames.length - 1, Math.max(0, state.index + delta));
    if (target !== state.index) { state.index = target; show(); }
  };

  const resetZoom = () => { state.scale = 1; state.tx = 0; state.ty = 0; applyTransform(); };

  img.addEventListener("error", async () => {
    try {
      const response = await fetch(img.src, { credentials: "same-origin" });
      error.textContent = response.ok ? "画像を表示できませんでした" : await response.text();
    } catch (_) {
      error.textContent = "サーバーに接続できません";
    }
    error.hidden = false;
  });

  // ◀ ▶ are links (?i=N) so that they work without JavaScript; here they move without a page load.
  root.querySelector("[data-prev]").addEventListener("click", (event) => { event.preventDefault(); go(-1); });
  root.querySelector("[data-next]").addEventListener("click", (event) => { event.preventDefault(); go(1); });
  slider.addEventListener("input", () => { state.index = Number(slider.value) - 1; show(); });
  root.querySelector("[data-zoom-reset]").addEventListener("click", resetZoom);
  root.querySelectorAll("[data-preset]").forEach((button) => button.addEventListener("click", () => {
    state.wc = button.dataset.wc === "" ? null : Number(button.dataset.wc);
    state.ww = button.dataset.ww === "" ? null : Number(button.dataset.ww);
    root.querySelectorAll("[data-preset]").forEach((b) => b.classList.toggle("is-active", b === button));
    show();
  }));
  root.querySelectorAll("[data-series]").forEach((button) => button.addEventListener("click", () => {
    const index = frames.findIndex((f) => f.series === button.dataset.series);
    if (index >= 0) { state.index = index; show(); }
  }));
  modeButton.addEventListener("click", () => {
    state.wlMode = !state.wlMode;
    modeButton.setAttribute("aria-pressed", String(state.wlMode));
    viewport.classList.toggle("mode-wl", state.wlMode);
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select")) return;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") { event.preventDefault(); go(1); }
    if (event.key === "ArrowLeft" || event.key === "ArrowUp") { event.preventDefault(); go(-1); }
  });

  // Pointer gestures: one pointer swipes (or pans when zoomed, or sets the window in WL mode); two pinch.
  const pointers = new Map();
  let gesture = null;
  let wlTimer = null;
  const distance = () => {
    const [a, b] = [...pointers.values()];
    return Math.hypot(a.x - b.x, a.y - b.y);
  };
  viewport.addEventListener("pointerdown", (event) => {
    try { viewport.setPointerCapture(event.pointerId); } catch (_) { /* a pointer the browser no longer tracks */ }
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (pointers.size === 2) {
      gesture = { kind: "pinch", startDistance: distance(), startScale: state.scale };
    } else if (pointers.size === 1) {
      const [wc, ww] = state.wc == null ? defaultWindow(frames[state.index]) : [state.wc, state.ww];
      gesture = { kind: state.wlMode ? "wl" : (state.scale > 1 ? "pan" : "swipe"), x: event.clientX, y: event.clientY,
                  tx: state.tx, ty: state.ty, wc, ww };
    }
  });
  viewport.addEventListener("pointermove", (event) => {
    if (!pointers.has(event.pointerId) || !gesture) return;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (gesture.kind === "pinch" && pointers.size === 2) {
      state.scale = Math.min(8, Math.max(1, gesture.startScale * distance() / Math.max(1, gesture.startDistance)));
      if (state.scale === 1) { state.tx = 0; state.ty = 0; }
      applyTransform();
    } else if (gesture.kind === "pan") {
      state.tx = gesture.tx + event.clientX - gesture.x;
      state.ty = gesture.ty + event.clientY - gesture.y;
      applyTransform();
    } else if (gesture.kind === "wl") {
      const scale = Math.max(1, gesture.ww / 200); // a drag across the screen spans a useful range
      state.ww = Math.max(1, gesture.ww + (event.clientX - gesture.x) * scale);
      state.wc = gesture.wc - (event.clientY - gesture.y) * scale;
      readout.textContent = `WL ${Math.round(state.wc)} / WW ${Math.round(state.ww)}`;
      clearTimeout(wlTimer);
      wlTimer = setTimeout(show, 120); // the server renders: do not ask for every pixel of movement
    }
  });
  const end = (event) => {
    if (!pointers.has(event.pointerId)) return;
    const start = gesture;
    pointers.delete(event.pointerId);
    if (start && start.kind === "swipe" && pointers.size === 0) {
      const dx = event.clientX - start.x;
      const dy = event.clientY - start.y;
      if (Math.abs(dx) > SWIPE_PX && Math.abs(dx) > Math.abs(dy)) go(dx < 0 ? 1 : -1);
    }
    if (start && start.kind === "wl" && pointers.size === 0) { clearTimeout(wlTimer); show(); }
    if (pointers.size === 0) gesture = null;
  };
  viewport.addEventListener("pointerup", end);
  viewport.addEventListener("pointercancel", end);
  viewport.addEventListener("dblclick", resetZoom);
  viewport.addEventListener("wheel", (event) => {
    event.preventDefault();
    if (event.ctrlKey) {
      state.scale = Math.min(8, Math.max(1, state.scale * (event.deltaY < 0 ? 1.1 : 0.9)));
      applyTransform();
    } else {
      go(event.deltaY > 0 ? 1 : -1);
    }
  }, { passive: false });

  // The stage takes the height the screen has left below the patient and study line (the image fills it, the
  // controls float over its top and bottom edges, and the image sits between them so none of it is hidden).
  const stage = root.querySelector("[data-stage]");
  const overlays = [stage.querySelector(".viewer-overlay-top"), stage.querySelector(".viewer-overlay-bottom")];
  const fit = () => {
    const top = stage.getBoundingClientRect().top + window.scrollY;
    stage.style.setProperty("--stage-height", `${Math.max(420, window.innerHeight - top - 8)}px`);
    stage.style.setProperty("--overlay-top", `${overlays[0].offsetHeight}px`);
    stage.style.setProperty("--overlay-bottom", `${overlays[1].offsetHeight}px`);
  };
  new ResizeObserver(fit).observe(stage);
  overlays.forEach((overlay) => new ResizeObserver(fit).observe(overlay));
  window.addEventListener("resize", fit);
  fit();

  // 全画面 on request (Fullscreen API; Safari on iPad names it webkit…): the stage with its controls.
  const fullscreenButton = root.querySelector("[data-fullscreen]");
  const request = stage.requestFullscreen || stage.webkitRequestFullscreen;
  const exit = document.exitFullscreen || document.webkitExitFullscreen;
  const current = () => document.fullscreenElement || document.webkitFullscreenElement;
  if (request && (document.fullscreenEnabled || document.webkitFullscreenEnabled)) {
    fullscreenButton.hidden = false;
    fullscreenButton.addEventListener("click", () => {
      if (current()) exit.call(document);
      else request.call(stage);
    });
    const changed = () => {
      const on = current() === stage;
      fullscreenButton.setAttribute("aria-pressed", String(on));
      fullscreenButton.textContent = on ? "全画面を終了" : "全画面";
      fit();
    };
    document.addEventListener("fullscreenchange", changed);
    document.addEventListener("webkitfullscreenchange", changed);
  }

  show();
}
