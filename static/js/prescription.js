// Order form: drug search as you type on each line (a tap fills the line and its unit). Without JavaScript
// the server resolves the typed name on チェック and offers candidates.
const form = document.getElementById("rx-order");
if (form) {
  const searchUrl = form.dataset.searchUrl;
  // The dose column says what the typed number counts, following the Rp's 剤形 as it is chosen.
  form.querySelectorAll("fieldset.rp[data-dose-bases]").forEach((rp) => {
    const bases = JSON.parse(rp.dataset.doseBases);
    rp.querySelectorAll('input[type="radio"][name$="_form"]').forEach((radio) => {
      radio.addEventListener("change", () => {
        const basis = bases[radio.value] || "全量";
        rp.querySelectorAll("[data-dose-basis]").forEach((label) => { label.textContent = basis; });
        rp.querySelectorAll("input.dose").forEach((input) => {
          input.setAttribute("aria-label", input.getAttribute("aria-label").replace(/^用量（[^）]*）/, `用量（${basis}）`));
        });
      });
    });
  });
  form.querySelectorAll("[data-rx-drug]").forEach((cell) => {
    const input = cell.querySelector('input[type="text"]');
    const code = cell.querySelector('input[type="hidden"]');
    const list = cell.querySelector(".drug-results");
    const unit = cell.closest("tr").querySelector("[data-unit]");
    let timer = null;
    let sequence = 0;
    input.addEventListener("input", () => {
      code.value = "";
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const mine = ++sequence;
        const url = new URL(searchUrl, window.location.origin);
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
            small.textContent = ` ${item.generic_name || ""} ${item.narcotic_label || ""}`;
            li.append(small);
            const pick = () => {
              code.value = item.receipt_code;
              input.value = item.name;
              if (unit) unit.textContent = item.unit;
              list.hidden = true;
              cell.closest("tr").querySelector("input.dose")?.focus();
            };
            li.addEventListener("click", pick);
            li.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); pick(); } });
            return li;
          }));
          list.hidden = data.items.length === 0;
        } catch (_) { /* offline: the server resolves the name */ }
      }, 150);
    });
  });
}
