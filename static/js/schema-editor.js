// シェーマ editor: pen, eraser and text labels over a base drawing, with pointer events (finger, stylus with
// pressure, mouse), undo/redo. The drawing is kept as vector items; the server checks them and renders the PNG.
import { postJSON } from "./app.js";

const form = document.getElementById("schema-form");
const canvas = document.getElementById("schema-canvas");
if (form && canvas) {
  const ctx = canvas.getContext("2d");
  const field = document.getElementById("schema-strokes");
  const STEPS = 4;
  // The server keeps a stroke's points flat as integers (x, y in tenths of a pixel, pressure in hundredths); the
  // editor draws with [x, y, pressure] in pixels. Drawings of earlier editors hold [x, y, pressure] already.
  const decode = (item) => (item.p && !Array.isArray(item.p[0])
    ? { ...item, p: Array.from({ length: item.p.length / 3 }, (_, i) => [item.p[3 * i] / 10, item.p[3 * i + 1] / 10, item.p[3 * i + 2] / 100]) }
    : item);
  const encode = (item) => (item.p
    ? { ...item, p: item.p.flatMap(([x, y, pressure]) => [Math.round(x * 10), Math.round(y * 10), Math.round((pressure ?? 0.5) * 100)]) }
    : item);
  let items = [];
  try { items = (JSON.parse(field.value || "{}").items || []).map(decode); } catch (_) { items = []; }
  // Undo/redo walk a history of actions: adding an item, or clearing the drawing (which keeps what it cleared).
  let history = items.map(() => ({ type: "add" }));
  let redo = [];
  const add = (item) => { items.push(item); history.push({ type: "add" }); redo = []; };
  let tool = "pen";
  let colour = form.querySelector(".schema-colour")?.dataset.colour || "#202124";
  let current = null;

  const widthOf = (item, pressure) => {
    if (item.t === "eraser") return item.w;
    const step = Math.min(STEPS, Math.floor(pressure * STEPS));
    return Math.max(1, Math.round(item.w * (0.5 + step / STEPS)));
  };

  function paintSegment(item, a, b) {
    ctx.globalCompositeOperation = item.t === "eraser" ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle = item.t === "eraser" ? "#000" : item.c;
    ctx.lineWidth = widthOf(item, b[2] ?? 0.5);
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
  }

  function paint(item) {
    if (item.t === "text") {
      ctx.globalCompositeOperation = "source-over";
      ctx.fillStyle = item.c;
      ctx.font = `${item.z}px sans-serif`;
      ctx.fillText(item.s, item.x, item.y);
      return;
    }
    item.p.forEach((point, i) => paintSegment(item, item.p[Math.max(0, i - 1)], point));
  }

  function repaint() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    items.forEach(paint);
    field.value = JSON.stringify({ items });
  }

  function pointOf(event) {
    const box = canvas.getBoundingClientRect();
    const clamp = (v, max) => Math.round(Math.min(max, Math.max(0, v)) * 10) / 10;
    const x = clamp(((event.clientX - box.left) / box.width) * canvas.width, canvas.width);
    const y = clamp(((event.clientY - box.top) / box.height) * canvas.height, canvas.height);
    // Only a pen reports a real pressure; a finger or a mouse draws at the middle width.
    const pressure = event.pointerType === "pen" && event.pressure > 0 ? Math.round(event.pressure * 100) / 100 : 0.5;
    return [x, y, pressure];
  }

  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    const point = pointOf(event);
    const width = Number(document.getElementById("schema-width").value);
    if (tool === "text") {
      const text = document.getElementById("schema-label").value.trim().slice(0, 40);
      if (!text) { document.getElementById("schema-label").focus(); return; }
      add({ t: "text", c: colour, x: point[0], y: point[1], s: text, z: Math.min(48, 12 + width * 2) });
      repaint();
      return;
    }
    canvas.setPointerCapture(event.pointerId);
    current = tool === "eraser" ? { t: "eraser", w: Math.max(4, width * 4), p: [point] }
      : { t: "pen", c: colour, w: width, p: [point] };
    paintSegment(current, point, point);
  });

  canvas.addEventListener("pointermove", (event) => {
    if (!current) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of events.length ? events : [event]) {
      if (current.p.length >= 2000) break;
      const point = pointOf(e);
      paintSegment(current, current.p[current.p.length - 1], point);
      current.p.push(point);
    }
  });

  const finish = () => {
    if (!current) return;
    add(current);
    current = null;
    field.value = JSON.stringify({ items });
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);

  form.querySelectorAll("[data-tool]").forEach((button) => button.addEventListener("click", () => {
    tool = button.dataset.tool;
    form.querySelectorAll("[data-tool]").forEach((b) => b.classList.toggle("is-active", b === button));
  }));
  form.querySelectorAll("[data-colour]").forEach((button) => button.addEventListener("click", () => {
    colour = button.dataset.colour;
    form.querySelectorAll("[data-colour]").forEach((b) => b.classList.toggle("is-active", b === button));
  }));
  document.getElementById("schema-undo").addEventListener("click", () => {
    const action = history.pop();
    if (!action) return;
    if (action.type === "add") redo.push({ type: "add", item: items.pop() });
    else { redo.push({ type: "clear" }); items = action.before; }
    repaint();
  });
  document.getElementById("schema-redo").addEventListener("click", () => {
    const action = redo.pop();
    if (!action) return;
    if (action.type === "add") { items.push(action.item); history.push({ type: "add" }); }
    else { history.push({ type: "clear", before: items }); items = []; }
    repaint();
  });
  document.getElementById("schema-clear").addEventListener("click", () => {
    if (items.length && window.confirm("描いた線と文字をすべて消しますか？（元に戻すで戻せます）")) {
      history.push({ type: "clear", before: items });
      items = [];
      redo = [];
      repaint();
    }
  });
  document.getElementById("schema-base")?.addEventListener("change", (event) => {
    document.querySelectorAll(".schema-base-layer").forEach((layer) => {
      layer.hidden = layer.dataset.base !== event.target.value;
    });
  });
  // Saving sends the form as JSON (the strokes as data, not text in a form field); the server checks everything,
  // renders the picture and answers where to go next, or what to fix (nothing is written then).
  const errors = document.getElementById("schema-errors");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = (name) => form.elements[name]?.value ?? "";
    const saving = form.querySelector("button[type=submit]");
    saving.disabled = true;
    const { ok, data } = await postJSON(form.action, {
      base: value("base"), title: value("title"), note_date: value("note_date"), change_reason: value("change_reason"),
      base_version: Number(value("base_version")), strokes: { v: 2, items: items.map(encode) },
      // Opened from a note's editor: the drawing belongs to that note, and saving goes back to it.
      note_lineage_id: value("note_lineage_id") ? Number(value("note_lineage_id")) : null,
      visit_id: value("visit_id") ? Number(value("visit_id")) : null, return_to_note: value("return_to_note") === "1",
    }).catch(() => ({ ok: false, data: { errors: { _form: "保存できませんでした。通信を確かめて、もう一度保存してください" } } }));
    saving.disabled = false;
    if (ok && data.redirect) { window.location.href = data.redirect; return; }
    errors.replaceChildren(...Object.values(data.errors || { _form: "保存できませんでした" }).map((message) => {
      const line = document.createElement("p");
      line.textContent = message;
      return line;
    }));
    errors.hidden = false;
    errors.scrollIntoView({ block: "nearest" });
  });
  repaint();
}
