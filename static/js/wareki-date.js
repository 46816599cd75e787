// 和暦 beside every date field: a native date input (the tablet's own picker, 西暦) marked data-wareki gets a label
// that shows the same day in 和暦 (「令和8年12月7日」) and follows the date as it changes. The eras are those of
// app/core/jp.py (the first day of each; year 1 is 元年); a date before 1873 (the Gregorian calendar) shows none.
const ERAS = [
  ["令和", "2019-05-01"],
  ["平成", "1989-01-08"],
  ["昭和", "1926-12-25"],
  ["大正", "1912-07-30"],
  ["明治", "1868-01-25"],
];
const GREGORIAN_START = "1873-01-01";

/** 「令和8年12月7日」 for "2026-12-07" (or a datetime-local value); "" when it is no date we can name. */
export function formatWareki(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(value || "");
  if (!match) return "";
  const iso = match[0];
  if (iso < GREGORIAN_START) return "";
  const [name, start] = ERAS.find(([, first]) => iso >= first);
  const year = Number(match[1]) - Number(start.slice(0, 4)) + 1;
  return `${name}${year === 1 ? "元" : year}年${Number(match[2])}月${Number(match[3])}日`;
}

export function attachWareki(input) {
  if (input.dataset.warekiReady) return;
  input.dataset.warekiReady = "1";
  const label = document.createElement("span");
  label.className = "wareki-label";
  label.id = `${input.id || input.name}-wareki`;
  label.setAttribute("aria-live", "polite");
  input.after(label);
  input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), label.id].filter(Boolean).join(" "));
  const update = () => { label.textContent = formatWareki(input.value); };
  input.addEventListener("input", update);
  input.addEventListener("change", update);
  update();
}

document.querySelectorAll("input[data-wareki]").forEach(attachWareki);
