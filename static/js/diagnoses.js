// 傷病名 search as you type: a tap picks the disease (code into the hidden field). Without JavaScript the
// 検索 button lists the candidates from the server.
const picker = document.querySelector("[data-disease-picker]");
if (picker) {
  const input = picker.querySelector('input[type="search"]');
  const code = picker.querySelector('input[type="hidden"][name="disease_code"]');
  const list = picker.querySelector(".drug-results");
  let timer = null;
  let sequence = 0;
  input.addEventListener("keydown", (event) => { if (event.key === "Enter") event.preventDefault(); });
  input.addEventListener("input", () => {
    code.value = "";
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const mine = ++sequence;
      const url = new URL(picker.dataset.searchUrl, window.location.origin);
      url.searchParams.set("q", input.value);
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (mine !== sequence || !response.ok) return;
        const data = await response.json();
        list.replaceChildren(...data.items.map((item) => {
          const li = document.createElement("li");
          li.setAttribute("role", "option");
          li.tabIndex = 0;
          li.textContent = item.name;
          const small = document.createElement("small");
          small.textContent = ` ${item.kana} ・ ICD-10 ${item.icd10 || "—"}`;
          li.append(small);
          const pick = () => { code.value = item.code; input.value = item.name; list.hidden = true; };
          li.addEventListener("click", pick);
          li.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); pick(); } });
          return li;
        }));
        list.hidden = data.items.length === 0;
      } catch (_) { /* the 検索 button still works */ }
    }, 150);
  });
}
