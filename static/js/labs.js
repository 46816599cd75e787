// 検査依頼: search sets and tests as you type; a tap adds them to 依頼する検査 as checked boxes (unticking removes
// them). Without JavaScript the 検索 button lists candidates from the server with the same boxes.
const picker = document.querySelector("[data-lab-picker]");
if (picker) {
  const input = picker.querySelector('input[type="search"]');
  const list = picker.querySelector("[data-results]");
  const chosen = document.querySelector("[data-chosen]");
  const empty = document.querySelector("[data-empty]");
  let timer = null;
  let sequence = 0;

  const isChosen = (name, code) => chosen.querySelector(`input[name="${name}"][value="${CSS.escape(code)}"]`);
  // A set shows its tubes and tests at once, as the server lists them: 検体1: container（specimen） tests.
  const tubeList = (tubes) => {
    const ul = document.createElement("ul");
    ul.className = "set-tubes";
    ul.setAttribute("aria-label", "このセットの検体");
    tubes.forEach((tube, index) => {
      const li = document.createElement("li");
      const name = document.createElement("span");
      name.className = "tube";
      name.textContent = `検体${index + 1}: ${tube.container}（${tube.specimen}）`;
      li.append(name, ` ${tube.tests.join("・")}`);
      ul.append(li);
    });
    return ul;
  };
  const add = (name, code, text, detail, tubes) => {
    if (!isChosen(name, code)) {
      const li = document.createElement("li");
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox"; box.name = name; box.value = code; box.checked = true;
      box.addEventListener("change", () => { if (!box.checked) li.remove(); empty.hidden = chosen.children.length > 0; });
      const small = document.createElement("small");
      small.textContent = detail ? ` ${detail}` : "";
      label.append(box, ` ${text}`, small);
      li.append(label);
      if (tubes && tubes.length) li.append(tubeList(tubes));
      chosen.append(li);
    }
    // The same code ticked in the server-listed candidates would be sent twice: untick it there.
    document.querySelectorAll(`.lab-candidates input[value="${CSS.escape(code)}"]`).forEach((b) => { b.checked = false; });
    empty.hidden = true;
  };
  const option = (text, detail, pick) => {
    const li = document.createElement("li");
    li.setAttribute("role", "option");
    li.tabIndex = 0;
    li.textContent = text;
    const small = document.createElement("small");
    small.textContent = ` ${detail}`;
    li.append(small);
    li.addEventListener("click", pick);
    li.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); pick(); } });
    return li;
  };
  input.addEventListener("keydown", (event) => { if (event.key === "Enter") event.preventDefault(); });
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const mine = ++sequence;
      const url = new URL(picker.dataset.searchUrl, window.location.origin);
      url.searchParams.set("q", input.value);
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (mine !== sequence || !response.ok) return;
        const data = await response.json();
        const options = [
          ...data.sets.map((s) => option(`セット: ${s.name}`, `${s.lab_codes.length}項目・検体${s.tubes.length}本`,
            () => add("set_code", s.code, `セット: ${s.name}`, "", s.tubes))),
          ...data.items.map((i) => option(i.name, `${i.short_name}・${i.specimen}・${i.container}・${i.jlac10}`,
            () => add("lab_code", i.code, i.name, `${i.specimen}・${i.container}`))),
        ];
        list.replaceChildren(...options);
        list.hidden = options.length === 0;
      } catch (_) { /* the 検索 button still works */ }
    }, 150);
  });
}
