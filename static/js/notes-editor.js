// The note editor (full-chart mode): autosave to the server every few seconds, a local copy of the open note's
// draft text only while the server cannot be reached, 定型文 at the cursor, 診療録テンプレート, Do and 自動転記.
import { postJSON } from "./app.js";

const editor = document.getElementById("note-editor");
const form = document.getElementById("note-form");

if (editor && form) {
  const PARTS = ["subjective", "objective", "assessment", "plan"];
  const AUTOSAVE_MS = 4000;
  const status = document.getElementById("autosave-status");
  const localKey = editor.dataset.localKey;
  const areas = Object.fromEntries(PARTS.map((p) => [p, form.querySelector(`textarea[name="${p}"]`)]));
  let lastArea = areas.subjective;
  let dirty = false;
  let saving = false;

  const say = (text) => { if (status) status.textContent = text; };
  const field = (name) => form.elements.namedItem(name);
  const value = (name) => (field(name) ? field(name).value : "");
  const parts = () => Object.fromEntries(PARTS.map((p) => [p, areas[p].value]));

  // Only the open note's four texts are ever kept on the device, and only until the server has them.
  const keepLocally = () => {
    try { localStorage.setItem(localKey, JSON.stringify({ parts: parts(), at: Date.now() })); } catch (_) { /* full */ }
  };
  const forgetLocally = () => { try { localStorage.removeItem(localKey); } catch (_) { /* disabled */ } };

  const markDirty = () => { dirty = true; keepLocally(); };

  PARTS.forEach((p) => {
    areas[p].addEventListener("focus", () => { lastArea = areas[p]; });
    areas[p].addEventListener("input", markDirty);
  });
  ["encounter_kind", "department_name", "insurance_summary"].forEach((name) => {
    if (field(name)) field(name).addEventListener("input", markDirty);
  });

  // A draft left on this device by a dropped connection comes back into the editor.
  try {
    const kept = JSON.parse(localStorage.getItem(localKey) || "null");
    if (kept && kept.parts && PARTS.some((p) => (kept.parts[p] || "") !== areas[p].value)) {
      PARTS.forEach((p) => { areas[p].value = kept.parts[p] || ""; });
      dirty = true;
      say("接続が切れる前の入力を復元しました。まもなく下書きとして保存します。");
    }
  } catch (_) { forgetLocally(); }

  async function autosave() {
    if (!dirty || saving) return;
    saving = true;
    dirty = false;
    const body = {
      ...parts(), base_version: value("base_version"), lineage_id: value("lineage_id"), draft_id: value("draft_id"),
      visit_id: value("visit_id"), encounter_kind: value("encounter_kind"), department_name: value("department_name"),
      insurance_summary: value("insurance_summary"),
    };
    try {
      const reply = await postJSON(editor.dataset.draftUrl, body);
      if (reply.ok) {
        field("draft_id").value = reply.data.draft_id;
        if (!dirty) forgetLocally();
        say(`下書きを保存しました（${reply.data.saved_at}）`);
      } else if (reply.status === 422 || reply.status === 400) {
        say(reply.data.message || "下書きを保存できませんでした");
      } else {
        dirty = true;
        say("サーバーに届きません。この端末に入力中の本文だけを一時保存し、つながり次第保存します。");
      }
    } catch (_) {
      dirty = true;
      say("接続が切れています。この端末に入力中の本文だけを一時保存し、つながり次第保存します。");
    } finally {
      saving = false;
    }
  }
  setInterval(autosave, AUTOSAVE_MS);
  window.addEventListener("online", autosave);
  form.addEventListener("submit", () => { forgetLocally(); dirty = false; });

  // Text goes in at the cursor of the last S/O/A/P box used (or at the end of the named part).
  function insertAt(area, text) {
    const start = area.selectionStart ?? area.value.length;
    const end = area.selectionEnd ?? start;
    area.setRangeText(text, start, end, "end");
    area.focus();
    lastArea = area;
    markDirty();
  }
  function append(area, text) {
    const current = area.value.replace(/\s+$/, "");
    area.value = current ? `${current}\n${text}` : text;
    markDirty();
  }

  // 定型文: search by reading, one touch inserts at the cursor.
  const phraseList = document.getElementById("phrase-list");
  const phraseQuery = document.getElementById("phrase-query");
  let phraseTimer = null;
  async function loadPhrases() {
    if (!phraseList) return;
    const url = `${editor.dataset.phrasesUrl}?q=${encodeURIComponent(phraseQuery.value)}`;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      const data = await response.json();
      phraseList.replaceChildren(...(data.phrases || []).map((p) => {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "phrase";
        button.title = p.text;
        button.textContent = p.own ? `${p.title}（自分用）` : p.title;
        button.addEventListener("pointerdown", (event) => event.preventDefault()); // keep the cursor where it is
        button.addEventListener("click", () => insertAt(lastArea, p.text));
        li.append(button);
        return li;
      }));
      if (!phraseList.children.length) {
        const li = document.createElement("li");
        li.className = "muted";
        li.textContent = "該当する定型文はありません";
        phraseList.append(li);
      }
    } catch (_) { /* offline: the list stays as it was */ }
  }
  if (phraseQuery) {
    phraseQuery.addEventListener("input", () => { clearTimeout(phraseTimer); phraseTimer = setTimeout(loadPhrases, 200); });
    loadPhrases();
  }

  // 診療録テンプレート: fill-in fields, the server turns them into SOAP text that is added to the parts.
  const templateForm = document.getElementById("template-fields");
  const templateError = document.getElementById("template-error");
  let openTemplate = null;
  const showTemplateError = (text) => { templateError.textContent = text; templateError.hidden = !text; };
  function fieldInput(key, f) {
    const wrap = document.createElement("label");
    wrap.className = "template-field";
    wrap.append(document.createTextNode(`${f.label} `));
    let input;
    if (f.kind === "choice") {
      input = document.createElement("select");
      input.append(new Option("—", ""));
      f.choices.forEach((c) => input.append(new Option(c, c)));
    } else {
      input = document.createElement("input");
      input.type = "text";
      if (f.kind === "number") {
        input.inputMode = "decimal";
        input.size = 6;
        if (f.min !== undefined) input.placeholder = `${f.min}〜${f.max}`;
      }
    }
    input.name = key;
    wrap.append(input);
    if (f.unit) wrap.append(document.createTextNode(` ${f.unit}`));
    return wrap;
  }
  const openButton = document.getElementById("template-open");
  if (openButton) {
    openButton.addEventListener("click", async () => {
      const id = document.getElementById("template-choice").value;
      showTemplateError("");
      const response = await fetch(editor.dataset.templateUrl.replace("/0.json", `/${id}.json`),
        { credentials: "same-origin", headers: { Accept: "application/json" } });
      const data = await response.json();
      if (!response.ok) { showTemplateError(data.message || "テンプレートを開けませんでした"); return; }
      openTemplate = id;
      templateForm.replaceChildren();
      data.sections.forEach((section, si) => {
        const box = document.createElement("fieldset");
        const legend = document.createElement("legend");
        legend.textContent = `${({ subjective: "S", objective: "O", assessment: "A", plan: "P" })[section.part]} ${section.title}`;
        box.append(legend);
        section.fields.forEach((f, fi) => box.append(fieldInput(`${si}.${fi}`, f)));
        templateForm.append(box);
      });
      const apply = document.createElement("button");
      apply.type = "submit";
      apply.className = "button button-primary";
      apply.textContent = "本文に入れる";
      templateForm.append(apply);
      templateForm.hidden = false;
    });
    templateForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const values = Object.fromEntries(new FormData(templateForm).entries());
      const reply = await postJSON(editor.dataset.fillUrl.replace("/0/fill", `/${openTemplate}/fill`), { values });
      if (!reply.ok) { showTemplateError(reply.data.message || "テンプレートの内容を入れられませんでした"); return; }
      Object.entries(reply.data.parts || {}).forEach(([part, text]) => { if (areas[part] && text) append(areas[part], text); });
      templateForm.hidden = true;
      say("テンプレートの内容を本文に入れました");
    });
  }

  // Do: the chosen parts of the earlier note are added to the same parts of this one.
  const doButton = document.getElementById("do-copy");
  if (doButton) {
    doButton.addEventListener("click", () => {
      document.querySelectorAll('input[name="do-part"]:checked').forEach((box) => {
        const text = document.querySelector(`.do-text[data-part="${box.value}"]`).textContent;
        append(areas[box.value], text);
      });
      say("前回の記録の内容を追加しました");
    });
  }

  // 自動転記: today's vitals, prescriptions, orders and results, each with its source line.
  document.querySelectorAll("button[data-transfer]").forEach((button) => {
    button.addEventListener("click", () => {
      append(areas[button.dataset.part], document.getElementById(`transfer-${button.dataset.transfer}`).textContent);
      button.disabled = true;
      button.textContent = "転記しました";
    });
  });
}
