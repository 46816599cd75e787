// Profile forms: fields shown only for some choices, drug search as you type, vitals intake helpers.
// Everything here is a convenience: the forms post and validate the same without JavaScript.

// --- fields shown only when another field has a given value (e.g. 薬剤の範囲 for a drug allergy) ---
function updateShownWhen(form) {
  form.querySelectorAll("[data-shown-when]").forEach((box) => {
    const checked = form.querySelector(`input[name="${box.dataset.shownWhen}"]:checked`);
    const show = checked && box.dataset.shownValues.split(",").includes(checked.value);
    box.hidden = !show;
  });
}
document.querySelectorAll("form.profile-form").forEach((form) => {
  form.addEventListener("change", () => updateShownWhen(form));
  updateShownWhen(form);
});

// --- drug search: typing in 「薬剤」 lists products of the drug master; a tap picks one ---
document.querySelectorAll("[data-drug-picker]").forEach((picker) => {
  const form = picker.closest("form");
  const input = form.querySelector('input[name="substance"]');
  const code = picker.querySelector('input[type="hidden"][name="drug_code"]');
  const list = picker.querySelector(".drug-results");
  let timer = null;
  let sequence = 0;
  input?.addEventListener("input", () => {
    code.value = ""; // a typed name no longer matches the product picked before
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
          li.dataset.code = item.receipt_code;
          li.textContent = item.name;
          const small = document.createElement("small");
          small.textContent = ` ${item.generic_name || ""} ${item.narcotic_label || ""}`;
          li.append(small);
          const pick = () => {
            code.value = item.receipt_code;
            input.value = item.name;
            list.hidden = true;
          };
          li.addEventListener("click", pick);
          li.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); pick(); } });
          return li;
        }));
        list.hidden = data.items.length === 0;
      } catch (_) { /* offline: the server resolves the typed name on save */ }
    }, 150);
  });
});

// --- vitals intake: Enter moves on, 前回 copies the last value, BMI as you type ---
const vitals = document.querySelector("[data-vitals-form]");
if (vitals) {
  const inputs = [...vitals.querySelectorAll('input[inputmode="numeric"], input[inputmode="decimal"]')];
  inputs.forEach((input, index) => {
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      const next = inputs[index + 1];
      if (next) { event.preventDefault(); next.focus(); next.select(); }
    });
  });
  vitals.querySelectorAll("[data-copy-last]").forEach((button) => {
    button.addEventListener("click", () => {
      const input = vitals.querySelector(`input[name="${button.dataset.copyLast}"]`);
      input.value = button.dataset.value;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });
  const toNumber = (text) => parseFloat(text.replace(/[０-９．]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)));
  const output = vitals.querySelector("[data-bmi]");
  const lastHeight = vitals.querySelector('[data-copy-last="height_cm"]')?.dataset.value;
  vitals.addEventListener("input", () => {
    const height = toNumber(vitals.querySelector('input[name="height_cm"]').value || lastHeight || "");
    const weight = toNumber(vitals.querySelector('input[name="weight_kg"]').value || "");
    if (height > 0 && weight > 0) output.textContent = (weight / ((height / 100) ** 2)).toFixed(1);
  });
}
