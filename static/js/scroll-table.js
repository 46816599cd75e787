// Wide tables (the lab results): the test-name column stays while the dates scroll. The table opens at its newest
// end (the right, as in the trend chart), a shadow marks the side where more dates lie and a line counts them.
for (const frame of document.querySelectorAll("[data-scroll-table]")) {
  const scroller = frame.querySelector(".table-scroll");
  const hint = frame.querySelector("[data-scroll-hint]");
  const days = [...scroller.querySelectorAll("thead th[data-day]")];
  const update = () => {
    const box = scroller.getBoundingClientRect();
    const fixed = scroller.querySelector("thead th:first-child");
    const left = box.left + (fixed ? fixed.getBoundingClientRect().width : 0);
    let before = 0;
    let after = 0;
    for (const th of days) {
      const cell = th.getBoundingClientRect();
      if (cell.left < left - 1) before += 1;
      else if (cell.right > box.right + 1) after += 1;
    }
    frame.classList.toggle("more-left", before > 0);
    frame.classList.toggle("more-right", after > 0);
    const parts = [];
    if (before) parts.push(`← 左に過去の採取日があと${before}日分`);
    if (after) parts.push(`右に新しい採取日があと${after}日分 →`);
    hint.textContent = parts.join("　");
    hint.hidden = parts.length === 0;
  };
  scroller.scrollLeft = scroller.scrollWidth;
  scroller.addEventListener("scroll", update, { passive: true });
  window.addEventListener("resize", update);
  update();
}
