// Horizontal and vertical SVG bar charts: enough for counts and rates, no library to install.
"use strict";
const SVG = "http://www.w3.org/2000/svg";

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// entries: [[label, value], ...]; format: value -> string
function barChart(container, entries, format = String) {
  container.replaceChildren();
  if (!entries.length) { container.textContent = "没有数据"; return; }
  const row = 22, labelWidth = 150, width = 520, max = Math.max(...entries.map(e => e[1]), 1e-9);
  const svg = el("svg", {viewBox: `0 0 ${width} ${entries.length * row + 4}`, role: "img"});
  entries.forEach(([label, value], i) => {
    const y = i * row + 2, w = (width - labelWidth - 60) * value / max;
    svg.append(el("text", {x: labelWidth - 6, y: y + 15, "text-anchor": "end", "font-size": 12}, label));
    svg.append(el("rect", {x: labelWidth, y: y + 3, width: Math.max(w, 1), height: row - 6, fill: "#3e7bfa", class: "bar"}));
    svg.append(el("text", {x: labelWidth + w + 4, y: y + 15, "font-size": 12}, format(value)));
  });
  container.append(svg);
}

function columnChart(container, entries) {
  container.replaceChildren();
  if (!entries.length) { container.textContent = "没有数据"; return; }
  const width = 520, height = 180, pad = 24, max = Math.max(...entries.map(e => e[1]), 1);
  const step = (width - pad) / entries.length;
  const svg = el("svg", {viewBox: `0 0 ${width} ${height + 30}`, role: "img"});
  entries.forEach(([label, value], i) => {
    const h = (height - pad) * value / max, x = pad + i * step;
    svg.append(el("rect", {x, y: height - h, width: Math.max(step - 2, 1), height: h, fill: "#2f9e44", class: "bar"}));
    if (entries.length <= 14 || i % Math.ceil(entries.length / 14) === 0)
      svg.append(el("text", {x: x + step / 2, y: height + 14, "text-anchor": "middle", "font-size": 10}, label.slice(5)));
    svg.append(el("text", {x: x + step / 2, y: height - h - 3, "text-anchor": "middle", "font-size": 10}, String(value)));
  });
  container.append(svg);
}
